/** Token introspection (RFC 7662). */
import { authenticateClient, presentedCredentials } from './client-auth.js';
import { InvalidRequest } from './errors.js';
import type { Client, ClientAuthMethod } from './model.js';
import type { ProtocolStore } from './ports.js';
import type { ClientEndpointRequest } from './revocation.js';
import { formatScope } from './scope.js';
import type { ProtocolSettings } from './settings.js';
import { locateToken } from './token-lookup.js';
import { accessTokenAudience } from './tokens.js';

/** The §2.2 response: `{ active: false }` alone, or the active token's facts. */
export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      scope: string;
      client_id: string;
      /** The user's email; absent for a client's own token. */
      username?: string;
      /** The user id, or the client id for a client's own token (as in RFC 9068 §2.2). */
      sub: string;
      /** Seconds since the epoch. */
      exp: number;
      iat: number;
      /** RFC 6749 §7.1 access token type; absent for a refresh token. */
      token_type?: 'Bearer';
      aud?: string;
      iss: string;
      /** The connected account (a Latchkey extension); absent for a client's own token. */
      account_id?: string;
    };

type ActiveIntrospection = Extract<IntrospectionResponse, { active: true }>;

/** Auth methods that authenticate: introspection is never open to a client that only names itself. */
export function introspectionAuthMethods(methods: readonly ClientAuthMethod[]): ClientAuthMethod[] {
  return methods.filter((method) => method !== 'none');
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/**
 * Answers an introspection request. Callers are authenticated confidential
 * clients; a client sees its own tokens, a resource server (a client flagged
 * for it) sees every access token.
 */
export async function introspectToken(
  request: ClientEndpointRequest,
  deps: { store: ProtocolStore; settings: ProtocolSettings; clientAuthMethods: readonly ClientAuthMethod[]; now: number },
): Promise<{ client: Client; response: IntrospectionResponse; detail: string | undefined }> {
  const { params } = request;
  const { store, settings, now } = deps;
  // §2.1: "the endpoint MUST also require some form of authorization to access
  // this endpoint, such as client authentication". A public client cannot authenticate.
  const client = await authenticateClient(
    presentedCredentials(request.authorization, params),
    introspectionAuthMethods(deps.clientAuthMethods),
    store,
    now,
  );
  // §2.1: "token REQUIRED. The string value of the token."
  const token = params.token;
  if (token === undefined || token === '') throw new InvalidRequest('The token parameter is required.');

  // §2.2: "If the introspection call is properly authorized but the token is not
  // active, does not exist on this server, or the protected resource is not
  // allowed to introspect this particular token, then the authorization server
  // MUST return an introspection response with the "active" field set to
  // "false". Note that to avoid disclosing too much of the authorization
  // server's state to a third party, the authorization server SHOULD NOT
  // include any additional information about an inactive token".
  const inactive = (detail: string) => ({ client, response: { active: false } as const, detail });
  const found = await locateToken(token, params.token_type_hint, store);
  if (!found) return inactive('unknown token');
  const { record } = found;
  const own = record.clientId === client.id;

  let userId: string | null;
  let accountId: string | null;
  if (found.type === 'access_token') {
    if (!own && !client.isResourceServer) return inactive('token of another client');
    if (found.record.revokedAt !== null) return inactive('revoked');
    if (found.record.expiresAt <= now) return inactive('expired');
    ({ userId, accountId } = found.record);
  } else {
    // Refresh tokens are for the client that holds them; a resource server never needs one.
    if (!own) return inactive('refresh token of another client');
    if (found.record.revokedAt !== null || found.record.rotatedAt !== null) return inactive('revoked or rotated');
    if (found.record.expiresAt <= now) return inactive('expired');
    if (found.grant.revokedAt !== null) return inactive('grant revoked');
    ({ userId, accountId } = found.grant);
  }

  let username: string | undefined;
  if (userId !== null) {
    // The user as the resource guard loads it (cached for seconds: only the email is read
    // here, and deleting a user deletes its tokens, which the lookup above never caches).
    const { user } = await store.findParties({ clientId: record.clientId, userId, accountId });
    if (!user) return inactive('user gone');
    username = user.email;
  }
  // Members added in the response's order, not spread in: a key added after a spread misses
  // V8's inline cache every time.
  const response: Partial<ActiveIntrospection> & { active: true } = { active: true, scope: formatScope(record.scopes), client_id: record.clientId };
  if (username !== undefined) response.username = username;
  response.sub = userId ?? record.clientId;
  response.exp = seconds(record.expiresAt);
  response.iat = seconds(record.createdAt);
  if (found.type === 'access_token') {
    response.token_type = 'Bearer';
    response.aud = accessTokenAudience(settings);
  }
  response.iss = settings.issuer;
  if (accountId !== null) response.account_id = accountId;
  return { client, detail: undefined, response: response as ActiveIntrospection };
}
