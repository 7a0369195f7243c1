/** POST /oauth/revoke: token revocation (RFC 7009). */
import type { FastifyInstance } from 'fastify';
import { revokeToken } from '../../core/revocation.js';
import { REVOCATION_PATH, registerClientEndpoint } from '../client-endpoint.js';
import type { AppContext } from '../context.js';

export function registerRevocationRoute(app: FastifyInstance, ctx: AppContext): void {
  const clientAuthMethods = ctx.preset.tokenEndpoints[0]?.clientAuthMethods ?? ['client_secret_basic', 'client_secret_post'];
  registerClientEndpoint(app, REVOCATION_PATH, async (params, request, reply) => {
    const now = ctx.clock.now();
    const outcome = await revokeToken({ params, authorization: request.headers.authorization }, { store: ctx.store, clientAuthMethods, now });
    if (outcome.revoked) {
      await ctx.store.recordAudit(
        { type: 'token.revoked', actor: outcome.client.id, ip: request.ip, subject: outcome.grantId ?? null, detail: { revoked: outcome.revoked } },
        now,
      );
    } else {
      request.log.info({ detail: outcome.detail }, 'revocation request revoked nothing');
    }
    // RFC 7009 §2.2: "The authorization server responds with HTTP status code 200
    // if the token has been revoked successfully or if the client submitted an
    // invalid token." The body is empty ("The content of the response body is ignored").
    return reply.code(200).header('cache-control', 'no-store').header('pragma', 'no-cache').send();
  });
}
