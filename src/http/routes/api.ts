/** A sample protected resource: who the access token acts for, behind the resource guard. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formatScope } from '../../core/scope.js';
import type { AppContext } from '../context.js';
import { principalOf } from '../resource-guard.js';

/** Answers with the token's user, account, client and scope; for routes behind `ctx.guard({ load: true })`. */
export async function describePrincipal(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const { user, account, clientId, scopes } = principalOf(request);
  // A client's own token (client credentials) acts for no user or account: its identity is the client.
  return reply.header('cache-control', 'no-store').send({
    user: user ? { id: user.id, email: user.email, first_name: user.firstName, last_name: user.lastName } : null,
    account: account ? { id: account.id, name: account.name, kind: account.kind } : null,
    client_id: clientId,
    scope: formatScope(scopes),
  });
}

export function registerApiRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/api/me', { config: { errorFormat: 'json' }, preHandler: ctx.guard({ load: true }) }, describePrincipal);
}
