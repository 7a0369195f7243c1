/** Token revocation (RFC 7009). */
import { authenticateClient, presentedCredentials } from './client-auth.js';
import { InvalidRequest } from './errors.js';
import type { Client, ClientAuthMethod } from './model.js';
import type { ProtocolStore } from './ports.js';
import { locateToken } from './token-lookup.js';

export interface ClientEndpointRequest {
  /** The request's parameters, each present at most once. */
  params: Readonly<Record<string, string>>;
  /** The Authorization header, if any. */
  authorization: string | undefined;
}

export interface RevocationOutcome {
  client: Client;
  /** What was revoked: one access token, a whole grant (for a refresh token), or nothing. */
  revoked: 'access_token' | 'grant' | undefined;
  grantId: string | undefined;
  /** Why nothing was revoked, for the log (never sent to the client). */
  detail: string | undefined;
}

export async function revokeToken(
  request: ClientEndpointRequest,
  deps: { store: ProtocolStore; clientAuthMethods: readonly ClientAuthMethod[]; now: number },
): Promise<RevocationOutcome> {
  const { params } = request;
  const { store, now } = deps;
  // §2.1: "The authorization server first validates the client credentials (in
  // case of a confidential client) and then verifies whether the token was
  // issued to the client making the revocation request."
  const client = await authenticateClient(presentedCredentials(request.authorization, params), deps.clientAuthMethods, store, now);
  // §2.1: "token REQUIRED. The token that the client wants to get revoked."
  const token = params.token;
  if (token === undefined || token === '') throw new InvalidRequest('The token parameter is required.');

  const nothing = (detail: string): RevocationOutcome => ({ client, revoked: undefined, grantId: undefined, detail });
  const found = await locateToken(token, params.token_type_hint, store);
  // §2.2: "The authorization server responds with HTTP status code 200 if the
  // token has been revoked successfully or if the client submitted an invalid
  // token. Note: invalid tokens do not cause an error response".
  if (!found) return nothing('unknown token');
  // §2.1: the token must have been issued to this client. A token of another
  // client is left alone, and the answer is the same 200 as for an unknown
  // token: an error would tell the caller that the token it holds is valid.
  if (found.record.clientId !== client.id) return nothing('token of another client');

  if (found.type === 'refresh_token') {
    // §2.1: "If the particular token is a refresh token and the authorization
    // server supports the revocation of access tokens, then the authorization
    // server SHOULD also invalidate all access tokens based on the same
    // authorization grant". The grant (the connection) is revoked with them.
    await store.revokeGrant(found.record.grantId, now, 'refresh_token_revoked');
    return { client, revoked: 'grant', grantId: found.record.grantId, detail: undefined };
  }
  // An access token revokes only itself; the refresh token and the grant live on.
  await store.revokeAccessToken(found.record.tokenHash, now);
  return { client, revoked: 'access_token', grantId: found.record.grantId, detail: undefined };
}
