/**
 * Credentials: high-entropy random values, prefixed by kind so that secret
 * scanners can recognise a leaked one, and stored only as SHA-256 hashes.
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

/** 32 random bytes (256 bits), base64url, behind the kind's prefix. */
export function newCredential(kind: CredentialKind): string {
  return CREDENTIAL_PREFIX[kind] + randomBase64url(32);
}

/** SHA-256, base64url (one-shot: no Hash object per call, on every token lookup). */
export function hashCredential(value: string): string {
  return hash('sha256', value, 'base64url');
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
