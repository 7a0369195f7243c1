/**
 * Discovery: authorization server metadata (RFC 8414) at both well-known
 * addresses, and the JWK Set of the keys that sign JWT access tokens (RFC 7517).
 */
import type { FastifyInstance } from 'fastify';
import { grantHandlers } from '../../core/grants/index.js';
import { introspectionAuthMethods } from '../../core/introspection.js';
import { jwkSet } from '../../core/jwt.js';
import { authorizationServerMetadata } from '../../core/metadata.js';
import { INTROSPECTION_PATH, JWKS_PATH, REVOCATION_PATH } from '../client-endpoint.js';
import type { AppContext } from '../context.js';

export function registerMetadataRoutes(app: FastifyInstance, ctx: AppContext): void {
  const authorize = ctx.preset.authorizeEndpoints[0];
  const token = ctx.preset.tokenEndpoints[0];
  if (!authorize || !token) throw new TypeError(`preset ${ctx.preset.name} has no authorize or token endpoint`);
  // Only the grant_type values that reach a handler: an alias to a missing grant is not advertised.
  const grantTypes = Object.entries(token.grantTypes)
    .filter(([, canonical]) => grantHandlers.has(canonical))
    .map(([wire]) => wire);

  const metadata = async () =>
    authorizationServerMetadata({
      issuer: ctx.settings.issuer,
      authorizationPath: authorize.path,
      tokenPath: token.path,
      revocationPath: REVOCATION_PATH,
      introspectionPath: INTROSPECTION_PATH,
      jwksPath: JWKS_PATH,
      grantTypes,
      tokenEndpointAuthMethods: token.clientAuthMethods,
      introspectionAuthMethods: introspectionAuthMethods(token.clientAuthMethods),
      pkce: ctx.settings.pkce,
      scopes: (await ctx.store.listScopes()).map((scope) => scope.name),
    });

  // RFC 8414 §3; OpenID Connect Discovery 1.0 §4 serves the same OAuth fields.
  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    app.get(path, async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(await metadata()));
  }

  // Short caching: after a rotation, verifiers must see the new key soon (and refetch on an unknown kid).
  app.get(JWKS_PATH, async (_request, reply) =>
    reply
      .header('cache-control', 'public, max-age=60')
      .type('application/jwk-set+json; charset=utf-8')
      .send(jwkSet(await ctx.store.listSigningKeys())),
  );
}
