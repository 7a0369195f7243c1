/**
 * JWT access tokens (RFC 9068), signed with ES256 (RFC 7518 §3.4) through jose,
 * and the signing keys behind them.
 */
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import { InvalidToken } from './errors.js';
import type { SigningKey } from './model.js';
import { formatScope } from './scope.js';

/** RFC 9068 §2.1: "Resource servers MUST ... verify that the "typ" header value is "at+jwt"". */
export const ACCESS_TOKEN_JWT_TYPE = 'at+jwt';
export const SIGNING_ALGORITHM = 'ES256';

/** A compact JWS: three base64url parts. Opaque Latchkey tokens never contain a dot. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function looksLikeJwt(token: string): boolean {
  // An opaque token fails on its first test: the expression, finding no dot, backtracks through the whole token
  // (about 1,500 instructions of an opaque bearer check under callgrind; ANALYSIS.md, twenty-sixth pass).
  return token.includes('.') && COMPACT_JWS.test(token);
}

/** A new ES256 key pair; the kid is the public key's JWK thumbprint (RFC 7638). */
export async function generateSigningKey(now: number): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  return {
    kid,
    alg: SIGNING_ALGORITHM,
    publicJwk: { ...publicJwkMembers(publicJwk), kid },
    privateJwk: { ...privateJwk, kid, alg: SIGNING_ALGORITHM },
    createdAt: now,
    retiredAt: null,
  };
}

/** Only the public members of an EC key (RFC 7518 §6.2.1): never "d". */
function publicJwkMembers(jwk: JWK): JWK {
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

/** The JWK Set (RFC 7517 §5) that publishes the keys' public halves. */
export function jwkSet(keys: readonly SigningKey[]): { keys: JWK[] } {
  return {
    keys: keys.map((key) => ({ ...publicJwkMembers(key.publicJwk as JWK), kid: key.kid, alg: key.alg, use: 'sig' })),
  };
}

type CryptoKeyLike = Awaited<ReturnType<typeof importJWK>>;

/** Imported keys by kid: a key never changes once stored, so this cache can never be stale. */
const privateKeys = new Map<string, Promise<CryptoKeyLike>>();

function privateKeyOf(key: SigningKey): Promise<CryptoKeyLike> {
  let imported = privateKeys.get(key.kid);
  if (!imported) {
    imported = importJWK(key.privateJwk as JWK, key.alg);
    if (privateKeys.size > 64) privateKeys.clear();
    privateKeys.set(key.kid, imported);
  }
  return imported;
}

export function importPublicKey(key: SigningKey): Promise<CryptoKeyLike> {
  return importJWK(publicJwkMembers(key.publicJwk as JWK), key.alg);
}

export interface AccessTokenClaims {
  issuer: string;
  audience: string;
  /** The user id, or the client id for a client's own token (RFC 9068 §2.2). */
  subject: string;
  clientId: string;
  scopes: readonly string[];
  accountId: string | null;
  /** Epoch milliseconds. */
  issuedAt: number;
  expiresAt: number;
}

/**
 * RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat and jti are REQUIRED; §2.2.3:
 * the scope claim carries the granted scope. account_id names the connected account.
 * §2.1: the header's typ is "at+jwt"; the kid tells verifiers which published key to use.
 */
export async function signAccessToken(claims: AccessTokenClaims, key: SigningKey): Promise<string> {
  const payload: Record<string, string> = { client_id: claims.clientId };
  if (claims.scopes.length > 0) payload.scope = formatScope(claims.scopes);
  if (claims.accountId !== null) payload.account_id = claims.accountId;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, typ: ACCESS_TOKEN_JWT_TYPE, kid: key.kid })
    .setIssuer(claims.issuer)
    .setAudience(claims.audience)
    .setSubject(claims.subject)
    .setIssuedAt(Math.floor(claims.issuedAt / 1000))
    .setExpirationTime(Math.floor(claims.expiresAt / 1000))
    .setJti(randomBytes(16).toString('base64url'))
    .sign(await privateKeyOf(key));
}

export interface VerifiedAccessToken {
  kid: string;
  subject: string;
  clientId: string;
  scopes: string[];
  accountId: string | null;
  /** Epoch milliseconds. */
  issuedAt: number;
  expiresAt: number;
  jti: string;
}

interface CacheEntry {
  token: string;
  verified: VerifiedAccessToken;
}

/**
 * JWT access tokens already verified, by their exact text: a token presented
 * again (a partner calls the API many times with one token) skips the ES256
 * signature check, the largest cost of an offline bearer check. The checks
 * that depend on time or keys are repeated on every hit: expiry here, the
 * key's publication in verifyAccessToken. Bounded; the oldest entry goes first.
 */
export class VerifiedTokenCache {
  /**
   * Keyed by the last characters of the token's signature (cacheKeyOf): a Map
   * hashes its key on every lookup. An entry serves only the exact text it
   * was verified for, so a forged token that copies a verified signature, or
   * its end, is a miss, checked in full; and only a verified token is stored,
   * so such a token cannot push a verified one out either.
   */
  private readonly entries = new Map<string, CacheEntry>();
  /**
   * The string asked about last, when it was found, and its entry. A JWT
   * check asks about its token three times (the guard's scan, the format,
   * the verification) with the very same string, which compares equal at
   * once; an equal text in another string is compared character by character
   * (a token is a slice of its header, which V8 compares on its slow path).
   * Measured under callgrind: without it, the second and third lookups cost
   * about 1,100 instructions each. Cleared whenever an entry leaves or is replaced.
   */
  private lastAsked: string | undefined;
  private lastFound: CacheEntry | undefined;
  /** Verifications running, by the token's text; as many as requests in flight at most. */
  private readonly running = new Map<string, Promise<VerifiedAccessToken>>();

  constructor(private readonly capacity = 10_000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError('capacity must be a positive integer');
  }

  /**
   * Whether this exact text was verified before, expired or not. Such a text
   * passed the scans of a presented token then (b64token, compact JWS), some
   * 12,000 instructions for a 600-character token, which the guard skips for it.
   */
  has(token: string): boolean {
    return this.entryOf(token) !== undefined;
  }

  get(token: string, now: number): VerifiedAccessToken | undefined {
    const entry = this.entryOf(token);
    if (entry === undefined) return undefined;
    if (entry.verified.expiresAt <= now) {
      this.entries.delete(cacheKeyOf(token));
      this.forgetLast();
      return undefined;
    }
    return entry.verified;
  }

  /**
   * Runs `verify` for this text unless a verification of it is already
   * running, whose outcome is then shared: a client that fans out its first
   * calls with a new token costs one ES256 check, not one per call. Nothing
   * is kept once it settles; a refusal is never cached.
   */
  once(token: string, verify: () => Promise<VerifiedAccessToken>): Promise<VerifiedAccessToken> {
    let running = this.running.get(token);
    if (running === undefined) {
      running = verify().finally(() => this.running.delete(token));
      this.running.set(token, running);
    }
    return running;
  }

  set(token: string, verified: VerifiedAccessToken): void {
    if (!mayBeCompactJws(token)) throw new TypeError('a verified access token is a compact JWS');
    const key = cacheKeyOf(token);
    if (this.entries.size >= this.capacity && !this.entries.has(key)) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { token, verified });
    this.forgetLast();
  }

  private forgetLast(): void {
    this.lastAsked = undefined;
    this.lastFound = undefined;
  }

  private entryOf(token: string): CacheEntry | undefined {
    if (token === this.lastAsked) return this.lastFound;
    // A text without a dot (an opaque token) is no compact JWS: no lookup.
    if (!mayBeCompactJws(token)) return undefined;
    const entry = this.entries.get(cacheKeyOf(token));
    if (entry === undefined || entry.token !== token) return undefined;
    this.lastAsked = token;
    this.lastFound = entry;
    return entry;
  }
}

/**
 * Whether the text may be a compact JWS, as far as the cache needs to know: it
 * has a dot. `includes`, not `lastIndexOf`, which V8 runs in C++ behind a
 * runtime call (840 instructions under callgrind, for a dot 86 characters from
 * the end).
 */
function mayBeCompactJws(token: string): boolean {
  return token.includes('.');
}

/**
 * The characters of a token that key its cache entry: its last 12, the end of
 * an ES256 signature (68 of its bits).
 *
 * Twelve, not the whole signature: V8 copies a slice shorter than 13
 * characters into a string of its own, which it hashes in a few dozen
 * instructions, and makes a longer one a view into the token, which it hashes
 * on a slow path. Measured under callgrind: a JWT check looks its token up
 * three times, and its Map lookups took 9,200 instructions keyed by the
 * 86-character signature, 4,000 keyed by its last 12 characters.
 */
const CACHE_KEY_LENGTH = 12;

function cacheKeyOf(token: string): string {
  return token.slice(-CACHE_KEY_LENGTH);
}

/** Resolves a kid to a public key; undefined when no published key has it. */
export type PublicKeyResolver = (kid: string) => Promise<CryptoKeyLike | undefined>;

interface VerificationOptions {
  keys: PublicKeyResolver;
  issuer: string;
  audience: string;
  now: number;
  cache?: VerifiedTokenCache | undefined;
}

/**
 * Validates a JWT access token without the database (RFC 9068 §4): the "typ"
 * header, the signature with a published key and the expected algorithm, "iss"
 * equal to the issuer, "aud" containing our resource identifier, "exp" in the future.
 */
export async function verifyAccessToken(token: string, options: VerificationOptions): Promise<VerifiedAccessToken> {
  const { cache } = options;
  if (cache === undefined) return verifySignedToken(token, options);
  const cached = cache.get(token, options.now);
  // A cached result stands only while its key is still published (a key dropped after a leak takes its tokens with it).
  if (cached && (await options.keys(cached.kid))) return cached;
  const verified = await cache.once(token, () => verifySignedToken(token, options));
  // A request that joined a running verification is held to its own time: jose checked "exp" at the first one's.
  if (verified.expiresAt <= options.now) throw new InvalidToken(undefined, 'jwt rejected: ERR_JWT_EXPIRED');
  return verified;
}

/** The signature, header and claims checks themselves, through jose; stores a success in the cache. */
async function verifySignedToken(token: string, options: VerificationOptions): Promise<VerifiedAccessToken> {
  let kid = '';
  try {
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        kid = header.kid ?? '';
        const key = kid === '' ? undefined : await options.keys(kid);
        if (!key) throw new InvalidToken(undefined, 'jwt signed by an unknown key');
        return key;
      },
      {
        issuer: options.issuer,
        audience: options.audience,
        typ: ACCESS_TOKEN_JWT_TYPE,
        algorithms: [SIGNING_ALGORITHM],
        currentDate: new Date(options.now),
        requiredClaims: ['exp', 'iat', 'sub', 'jti', 'client_id'],
      },
    );
    const { sub, client_id: clientId, scope, account_id: accountId, iat, exp, jti } = payload;
    if (typeof clientId !== 'string' || typeof sub !== 'string' || typeof jti !== 'string') {
      throw new InvalidToken(undefined, 'jwt claims of the wrong type');
    }
    if ((scope !== undefined && typeof scope !== 'string') || (accountId !== undefined && typeof accountId !== 'string')) {
      throw new InvalidToken(undefined, 'jwt claims of the wrong type');
    }
    const verified: VerifiedAccessToken = {
      kid,
      subject: sub,
      clientId,
      scopes: scope ? scope.split(' ').filter((value) => value !== '') : [],
      accountId: accountId ?? null,
      issuedAt: (iat ?? 0) * 1000,
      expiresAt: (exp ?? 0) * 1000,
      jti,
    };
    options.cache?.set(token, verified);
    return verified;
  } catch (error) {
    if (error instanceof InvalidToken) throw error;
    const code = (error as { code?: unknown }).code;
    throw new InvalidToken(undefined, `jwt rejected: ${typeof code === 'string' ? code : 'malformed'}`);
  }
}
