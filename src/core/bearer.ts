/** Bearer token validation for protected resources (RFC 6750). */
import { InsufficientScope, InvalidToken } from './errors.js';
import type { AccessToken } from './model.js';
import type { TokenRepository } from './ports.js';
import { hashCredential } from './secrets.js';

/** RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/** The token in an Authorization header, or undefined when there is none in the Bearer scheme. */
export function bearerTokenFrom(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  return BEARER.exec(authorization.trim())?.[1];
}

/** One indexed lookup by hash; the token must be live. */
export async function validateAccessToken(
  token: string | undefined,
  store: Pick<TokenRepository, 'findAccessToken'>,
  now: number,
): Promise<AccessToken> {
  if (token === undefined) throw new InvalidToken('An access token is required.', 'no bearer token');
  const record = await store.findAccessToken(hashCredential(token));
  if (!record) throw new InvalidToken(undefined, 'unknown access token');
  if (record.revokedAt !== null) throw new InvalidToken(undefined, 'access token revoked');
  if (record.expiresAt <= now) throw new InvalidToken(undefined, 'access token expired');
  return record;
}

/** RFC 6750 §3.1 insufficient_scope, naming the scope the resource needs. */
export function requireScopes(token: AccessToken, required: readonly string[]): void {
  const missing = required.filter((scope) => !token.scopes.includes(scope));
  if (missing.length > 0) throw new InsufficientScope(required.join(' '));
}
