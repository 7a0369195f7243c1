/**
 * Credentials: high-entropy random values, prefixed by kind so that secret
 * scanners can recognise a leaked one, and stored only as SHA-256 hashes
 * (access and refresh tokens behind the time they were minted).
 * A slow hash adds latency but no safety to a 256-bit random value.
 */
import { hash, randomFillSync, timingSafeEqual } from 'node:crypto';

export const CREDENTIAL_PREFIX = {
  accessToken: 'lk_at_',
  refreshToken: 'lk_rt_',
  code: 'lk_ac_',
  clientSecret: 'lk_cs_',
  session: 'lk_ss_',
  adminToken: 'lk_adm_',
} as const;

export type CredentialKind = keyof typeof CREDENTIAL_PREFIX;

/**
 * Random bytes from the system's CSPRNG, drawn from a pool refilled 4 KiB at a
 * time (as node's own randomUUID does): one call into OpenSSL per ~100
 * credentials rather than one each (measured: randomBytes was 2.5% of a
 * rotating refresh's CPU, which draws two credentials and two ids). Each byte
 * is handed out once and zeroed as it is, so no credential outlives its use
 * in the pool.
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

/** `length` random bytes (at most 4 KiB), base64url. */
function randomBase64url(length: number): string {
  if (poolOffset + length > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const end = poolOffset + length;
  const text = pool.toString('base64url', poolOffset, end);
  pool.fill(0, poolOffset, end);
  poolOffset = end;
  return text;
}

/**
 * Access and refresh tokens carry the time they were minted, as 12 hex digits
 * of epoch milliseconds between the prefix and the random part, so that their
 * stored keys sort by time (hashCredential). Their tables are the largest and
 * take the most inserts: each new token's key then lands at the right edge of
 * its index, on a page every other new token touches too, rather than on a
 * random page of a large index (one more page read and written per token, at
 * a million grants). The time reveals nothing the token's response did not
 * (its holder knows when it got it); the random part is unchanged.
 */
const TIMED_PREFIXES = [CREDENTIAL_PREFIX.accessToken, CREDENTIAL_PREFIX.refreshToken] as const;
const TIME_DIGITS = 12;
const RANDOM_CHARS = 43;
/** The prefixes of both timed kinds are six characters long. */
const TIMED_PREFIX_LENGTH = 6;
const TIMED_LENGTH = TIMED_PREFIX_LENGTH + TIME_DIGITS + RANDOM_CHARS;

/**
 * Epoch milliseconds as TIME_DIGITS hex digits, in two halves of 24 bits: each is a small
 * integer, which V8 turns into hex on its fast path, where the whole time is a double
 * (past 2^31) that takes its slow one (some 250 against 80 ns).
 */
export function timeDigits(epochMs: number): string {
  const high = Math.floor(epochMs / 0x1000000);
  const low = epochMs - high * 0x1000000;
  return high.toString(16).padStart(TIME_DIGITS / 2, '0') + low.toString(16).padStart(TIME_DIGITS / 2, '0');
}

/** 32 random bytes (256 bits), base64url, behind the kind's prefix (and, for tokens, the time). */
export function newCredential(kind: CredentialKind): string {
  const random = randomBase64url(32);
  if (kind === 'accessToken' || kind === 'refreshToken') {
    return CREDENTIAL_PREFIX[kind] + timeDigits(Date.now()) + random;
  }
  return CREDENTIAL_PREFIX[kind] + random;
}

/**
 * The stored form of a credential: its SHA-256, base64url (one-shot: no Hash
 * object per call, on every token lookup). For a token that carries its time,
 * the time comes first, so stored keys sort by time (see above); tokens minted
 * before they carried one are stored and found by the hash alone.
 *
 * Returned as one sequential string. The time and the digest joined by `+`
 * are a pair of strings in V8 (a ConsString), and V8's builtins compare only
 * sequential strings themselves: `indexOf` over a turn's hashes, matching the
 * rows of its lookup (lookups.ts), called into V8's runtime for every
 * comparison, some 5,000 instructions of an opaque bearer check (callgrind,
 * batches of up to 16; ANALYSIS.md, twenty-eighth pass). An array's `join`
 * writes its parts into one new sequential string (about 35 ns); flattening
 * the pair in place (`trim()`, say) leaves a ConsString all the same.
 */
export function hashCredential(value: string): string {
  const digest = hash('sha256', value, 'base64url');
  if (value.length === TIMED_LENGTH && (value.startsWith(TIMED_PREFIXES[0]) || value.startsWith(TIMED_PREFIXES[1]))) {
    return [value.slice(TIMED_PREFIX_LENGTH, TIMED_PREFIX_LENGTH + TIME_DIGITS), digest].join('');
  }
  return digest;
}

/** Compares two hashes in constant time (equal-length inputs by construction). */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Random identifier for rows that are not credentials (users, grants...). */
export function newId(prefix: string): string {
  return prefix + randomBase64url(12);
}
