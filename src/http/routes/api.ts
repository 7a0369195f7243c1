/** A sample protected resource: who the bearer token acts for (RFC 6750). */
import type { FastifyInstance } from 'fastify';
import { bearerTokenFrom, validateAccessToken } from '../../core/bearer.js';
import { InvalidToken } from '../../core/errors.js';
import { formatScope } from '../../core/scope.js';
import type { AppContext } from '../context.js';

export function registerApiRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/api/me', { config: { errorFormat: 'json' } }, async (request, reply) => {
    const token = await validateAccessToken(bearerTokenFrom(request.headers.authorization), ctx.store, ctx.clock.now());
    const [user, account] = await Promise.all([ctx.store.findUser(token.userId), ctx.store.findAccount(token.accountId)]);
    if (!user || !account) throw new InvalidToken(undefined, 'user or account no longer exists');
    return reply.header('cache-control', 'no-store').send({
      user: { id: user.id, email: user.email, first_name: user.firstName, last_name: user.lastName },
      account: { id: account.id, name: account.name, kind: account.kind },
      client_id: token.clientId,
      scope: formatScope(token.scopes),
    });
  });
}
