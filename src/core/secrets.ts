/**
 * Credentials: high-entropy random values, prefixed by kind so that secret
 * scanners can recognise a leaked one, and stored only as SHA-256 hashes.
 * A slow hash adds latency but no safety to a 256-bit random value.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const CREDENTIAL_PREFIX = {
  accessToken: 'lk_at_',
  refreshToken: 'lk_rt_',
  code: 'lk_ac_',
  clientSecret: 'lk_cs_',
  session: 'lk_ss_',
  adminToken: 'lk_adm_',
} as const;

export type CredentialKind = keyof typeof CREDENTIAL_PREFIX;

/** 32 random bytes (256 bits), base64url, behind the kind's prefix. */
export function newCredential(kind: CredentialKind): string {
  return CREDENTIAL_PREFIX[kind] + randomBytes(32).toString('base64url');
}

export function hashCredential(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

/** Compares two hashes in constant time (equal-length inputs by construction). */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Random identifier for rows that are not credentials (users, grants...). */
export function newId(prefix: string): string {
  return prefix + randomBytes(12).toString('base64url');
}
