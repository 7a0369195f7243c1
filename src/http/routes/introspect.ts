/** POST /oauth/introspect: token introspection (RFC 7662). */
import type { FastifyInstance } from 'fastify';
import { introspectToken } from '../../core/introspection.js';
import { INTROSPECTION_PATH, registerClientEndpoint } from '../client-endpoint.js';
import type { AppContext } from '../context.js';

export function registerIntrospectionRoute(app: FastifyInstance, ctx: AppContext): void {
  const clientAuthMethods = ctx.preset.tokenEndpoints[0]?.clientAuthMethods ?? ['client_secret_basic', 'client_secret_post'];
  registerClientEndpoint(app, INTROSPECTION_PATH, async (params, request, reply) => {
    const { response, detail } = await introspectToken(
      { params, authorization: request.headers.authorization },
      { store: ctx.store, settings: ctx.settings, clientAuthMethods, now: ctx.clock.now() },
    );
    if (detail) request.log.info({ detail }, 'introspection: token not active');
    // RFC 7662 §2.2: "The server responds with a JSON object ... in "application/json" format".
    return reply
      .code(200)
      .header('cache-control', 'no-store')
      .header('pragma', 'no-cache')
      .type('application/json; charset=utf-8')
      .send(response);
  });
}
