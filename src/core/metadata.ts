/** Authorization server metadata (RFC 8414), built from what the server really does. */
import type { ClientAuthMethod } from './model.js';
import type { PkcePolicy } from './pkce.js';

export interface MetadataInput {
  issuer: string;
  /** Paths on the issuer. */
  authorizationPath: string;
  tokenPath: string;
  revocationPath: string;
  introspectionPath: string;
  jwksPath: string;
  /** grant_type values the token endpoint answers. */
  grantTypes: string[];
  tokenEndpointAuthMethods: readonly ClientAuthMethod[];
  introspectionAuthMethods: readonly ClientAuthMethod[];
  pkce: PkcePolicy;
  scopes: string[];
}

/**
 * RFC 8414 §2. "issuer REQUIRED", "authorization_endpoint ... REQUIRED unless no
 * grant types are supported that use the authorization endpoint", "token_endpoint
 * ... REQUIRED unless only the implicit grant type is supported",
 * "response_types_supported REQUIRED"; the rest describe the optional features
 * this server has. RFC 9207 §3: authorization_response_iss_parameter_supported.
 */
export function authorizationServerMetadata(input: MetadataInput): Record<string, unknown> {
  const url = (path: string) => `${input.issuer}${path}`;
  return {
    issuer: input.issuer,
    authorization_endpoint: url(input.authorizationPath),
    token_endpoint: url(input.tokenPath),
    jwks_uri: url(input.jwksPath),
    scopes_supported: input.scopes,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: input.grantTypes,
    token_endpoint_auth_methods_supported: [...input.tokenEndpointAuthMethods],
    revocation_endpoint: url(input.revocationPath),
    revocation_endpoint_auth_methods_supported: [...input.tokenEndpointAuthMethods],
    introspection_endpoint: url(input.introspectionPath),
    introspection_endpoint_auth_methods_supported: [...input.introspectionAuthMethods],
    // RFC 7636 §6.2.1; RFC 9700 §2.1.1: "plain" only where a preset allows it.
    code_challenge_methods_supported: input.pkce.allowPlain ? ['S256', 'plain'] : ['S256'],
    authorization_response_iss_parameter_supported: true,
  };
}
