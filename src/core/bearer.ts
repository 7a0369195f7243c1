/** Access tokens at protected resources (RFC 6750; RFC 9068 §4 for JWT access tokens). */
import { AccessTokenRequired, InsufficientScope, InvalidRequest, InvalidToken } from './errors.js';
import { looksLikeJwt, type PublicKeyResolver, type VerifiedAccessToken, type VerifiedTokenCache, verifyAccessToken } from './jwt.js';
import type { AccessToken, AccessTokenFormat } from './model.js';
import type { TokenRepository } from './ports.js';
import { hashCredential } from './secrets.js';

/** RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
/** RFC 6750 §2.1's b64token alone: the usual header's token, matched without BEARER's capture and its match array. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** GoCD's scheme: `Authorization: Token token="..."` (the quotes may be left out). */
const TOKEN_SCHEME = /^Token +token=(?:"([A-Za-z0-9\-._~+/]+=*)"|([A-Za-z0-9\-._~+/]+=*))$/i;

/** The token in an Authorization header, or undefined when there is none in the Bearer scheme. */
export function bearerTokenFrom(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  return BEARER.exec(authorization.trim())?.[1];
}

/** Authorization schemes a preset may accept at the platform's API. */
export type ResourceScheme = 'bearer' | 'token';

/** How a preset lets clients present access tokens (RFC 6750 §2). */
export interface ResourcePolicy {
  /** Authorization header schemes, in the order the challenge lists them. */
  schemes: ResourceScheme[];
  /** RFC 6750 §2.2, the access_token form-body parameter. */
  formBodyToken: boolean;
  /** RFC 6750 §2.3, the access_token query parameter. */
  queryToken: boolean;
}

/** Where a token was found. */
export type TokenLocation = ResourceScheme | 'form' | 'query';

export interface ResourceRequestParts {
  authorization: string | undefined;
  method: string;
  /** The media type of the body, lower case, without parameters. */
  mediaType: string | undefined;
  query: { params: Readonly<Record<string, string>>; repeated: readonly string[] };
  /** The parsed form body, when the body was application/x-www-form-urlencoded. */
  form: { params: Readonly<Record<string, string>>; repeated: readonly string[] } | undefined;
}

const SCHEME_NAME: Record<ResourceScheme, RegExp> = { bearer: /^bearer(\s|$)/i, token: /^token(\s|$)/i };

function fromHeader(
  authorization: string | undefined,
  policy: ResourcePolicy,
  verified: Pick<VerifiedTokenCache, 'has'> | undefined,
): { token: string; location: ResourceScheme } | undefined {
  if (authorization === undefined) return undefined;
  const header = authorization.trim();
  for (const scheme of policy.schemes) {
    if (!SCHEME_NAME[scheme].test(header)) continue;
    let token: string | undefined;
    if (scheme === 'bearer') {
      // The usual header, "Bearer " and the token: a JWT verified before passed this scan then,
      // and any other token is BEARER's capture exactly when it is a b64token.
      const usual = header.startsWith('Bearer ') ? header.slice(7) : undefined;
      token = usual !== undefined && (verified?.has(usual) || B64TOKEN.test(usual)) ? usual : BEARER.exec(header)?.[1];
    } else {
      const match = TOKEN_SCHEME.exec(header);
      token = match?.[1] ?? match?.[2];
    }
    // §3.1 invalid_request: "... or is otherwise malformed".
    if (token === undefined) throw new InvalidRequest('The Authorization header is malformed.', `malformed ${scheme} credentials`);
    return { token, location: scheme };
  }
  // Another scheme (Basic, or one the preset does not accept) carries no access token.
  return undefined;
}

/**
 * Finds the access token in a request, the way the preset allows.
 * RFC 6750 §2: "Clients MUST NOT use more than one method to transmit the
 * token in each request." The form-body (§2.2) and query (§2.3) methods are
 * refused unless the preset allows them; §3.1 makes "an unsupported parameter"
 * an invalid_request.
 */
export function findAccessToken(
  parts: ResourceRequestParts,
  policy: ResourcePolicy,
  verified?: Pick<VerifiedTokenCache, 'has'>,
): { token: string; location: TokenLocation } {
  const found: Array<{ token: string; location: TokenLocation }> = [];
  const header = fromHeader(parts.authorization, policy, verified);
  if (header) found.push(header);

  const form = parts.form;
  if (form && (Object.hasOwn(form.params, 'access_token') || form.repeated.includes('access_token'))) {
    if (!policy.formBodyToken) throw new InvalidRequest('Send the access token in the Authorization header.', 'access_token in the body');
    // §2.2: "The HTTP request method is one for which the request-body has
    // defined semantics. In particular, this means that the "GET" method MUST NOT be used."
    if (parts.method === 'GET' || parts.method === 'HEAD' || parts.mediaType !== 'application/x-www-form-urlencoded') {
      throw new InvalidRequest('The access_token body parameter needs a form-encoded POST body.');
    }
    if (form.repeated.includes('access_token')) throw new InvalidRequest('The request repeats access_token.');
    found.push({ token: form.params.access_token as string, location: 'form' });
  }

  const query = parts.query;
  if (Object.hasOwn(query.params, 'access_token') || query.repeated.includes('access_token')) {
    if (!policy.queryToken) throw new InvalidRequest('Send the access token in the Authorization header.', 'access_token in the query');
    if (query.repeated.includes('access_token')) throw new InvalidRequest('The request repeats access_token.');
    found.push({ token: query.params.access_token as string, location: 'query' });
  }

  if (found.length > 1) throw new InvalidRequest('The request sends an access token in more than one way.');
  const [only] = found;
  if (!only) throw new AccessTokenRequired();
  if (only.token === '') throw new InvalidToken(undefined, 'empty access token');
  return only;
}

/**
 * One indexed lookup by hash; the token must be live. A chain of promises
 * rather than an async function, as authenticateAccessToken's (see there).
 */
export function validateAccessToken(token: string | undefined, store: Pick<TokenRepository, 'findAccessToken'>, now: number): Promise<AccessToken> {
  if (token === undefined) return Promise.reject(new InvalidToken('An access token is required.', 'no bearer token'));
  return store.findAccessToken(hashCredential(token)).then((record) => liveAccessToken(record, now));
}

/** RFC 6750 §3.1: a token that is unknown, revoked or expired is invalid_token. */
function liveAccessToken(record: AccessToken | undefined, now: number): AccessToken {
  if (!record) throw new InvalidToken(undefined, 'unknown access token');
  if (record.revokedAt !== null) throw new InvalidToken(undefined, 'access token revoked');
  if (record.expiresAt <= now) throw new InvalidToken(undefined, 'access token expired');
  return record;
}

/** Who and what a valid access token stands for. */
export interface ResourcePrincipal {
  /** The user the client acts for; null for the client's own token (client credentials). */
  userId: string | null;
  /** The connected account; null for the client's own token. */
  accountId: string | null;
  clientId: string;
  scopes: string[];
  format: AccessTokenFormat;
  /** Epoch milliseconds. */
  issuedAt: number;
  expiresAt: number;
}

export interface AccessTokenValidation {
  store: Pick<TokenRepository, 'findAccessToken'>;
  /** Public keys of the published signing keys, held in memory. */
  keys: PublicKeyResolver;
  issuer: string;
  /** The "aud" this resource expects in JWT access tokens (RFC 9068 §4). */
  audience: string;
  now: number;
  /**
   * Also look a JWT up in the database, so that a revoked one is refused before
   * it expires. Off: a JWT is checked with no database access at all.
   */
  online: boolean;
  /** Verified JWTs kept between requests (see VerifiedTokenCache). */
  jwtCache?: VerifiedTokenCache | undefined;
  /**
   * Whether a key is held in memory, answered at once (VerificationKeys.holds):
   * with it and `jwtCache`, knownJwtPrincipal serves a JWT verified before.
   */
  holdsKey?: ((kid: string) => boolean) | undefined;
}

/**
 * Validates an access token of either format. An opaque token is one indexed
 * lookup by hash. A JWT is verified with a published key and needs no database,
 * unless `online` asks for the revocation check too.
 *
 * The opaque check is one reaction to the lookup's promise, validateAccessToken's
 * checks and the principal together: as async functions (this,
 * validateAccessToken, and the resource guard's own), its awaits and their
 * promises were about 2,800 instructions of an opaque bearer check under
 * callgrind (ANALYSIS.md, twenty-eighth pass).
 */
export function authenticateAccessToken(token: string, deps: AccessTokenValidation): Promise<ResourcePrincipal> {
  // A token verified before is a JWT: no scan.
  if (!deps.jwtCache?.has(token) && !looksLikeJwt(token)) {
    return deps.store.findAccessToken(hashCredential(token)).then((record) => principalOfRecord(liveAccessToken(record, deps.now)));
  }
  return authenticateJwt(token, deps);
}

async function authenticateJwt(token: string, deps: AccessTokenValidation): Promise<ResourcePrincipal> {
  const verified = await verifyAccessToken(token, { keys: deps.keys, issuer: deps.issuer, audience: deps.audience, now: deps.now, cache: deps.jwtCache });
  const principal = principalOfJwt(verified);
  if (deps.online) {
    const record = await validateAccessToken(token, deps.store, deps.now);
    if (record.clientId !== verified.clientId) throw new InvalidToken(undefined, 'jwt does not match its record');
  }
  return principal;
}

/**
 * The principal of a JWT this process verified before, while it is unexpired
 * and its key still held, without waiting for anything: the usual bearer
 * check, which then costs no promise (measured under callgrind: the awaits of
 * authenticateAccessToken's path were about 2,800 instructions of a JWT
 * check). Undefined whenever that is not all there is to check (an opaque
 * token, one not verified here yet, `online`): authenticateAccessToken does the whole check.
 */
export function knownJwtPrincipal(token: string, deps: AccessTokenValidation): ResourcePrincipal | undefined {
  if (deps.online || deps.jwtCache === undefined || deps.holdsKey === undefined) return undefined;
  const verified = deps.jwtCache.get(token, deps.now);
  // A cached result stands only while its key is still published (a key dropped after a leak takes its tokens with it).
  if (verified === undefined || !deps.holdsKey(verified.kid)) return undefined;
  return principalOfJwt(verified);
}

function principalOfRecord(record: AccessToken): ResourcePrincipal {
  return {
    userId: record.userId,
    accountId: record.accountId,
    clientId: record.clientId,
    scopes: record.scopes,
    format: 'opaque',
    issuedAt: record.createdAt,
    expiresAt: record.expiresAt,
  };
}

function principalOfJwt(verified: VerifiedAccessToken): ResourcePrincipal {
  // A user's token names the account; a client's own token has sub = client_id and no account.
  const machine = verified.accountId === null;
  if (machine && verified.subject !== verified.clientId) throw new InvalidToken(undefined, 'jwt without account_id for a user');
  return {
    userId: machine ? null : verified.subject,
    accountId: verified.accountId,
    clientId: verified.clientId,
    scopes: verified.scopes,
    format: 'jwt',
    issuedAt: verified.issuedAt,
    expiresAt: verified.expiresAt,
  };
}

/** RFC 6750 §3.1 insufficient_scope, naming the scope the resource needs. */
export function requireScopes(token: { readonly scopes: readonly string[] }, required: readonly string[]): void {
  const missing = required.filter((scope) => !token.scopes.includes(scope));
  if (missing.length > 0) throw new InsufficientScope(required.join(' '));
}
