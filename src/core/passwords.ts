/** User passwords: argon2id (RFC 9106) with the library's defaults (19 MiB, t=2). */
import { hash, verify } from '@node-rs/argon2';

export const MIN_PASSWORD_LENGTH = 10;

export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

let dummyHash: Promise<string> | undefined;

/**
 * Verifies a password. With no stored hash (unknown email) it still runs one
 * argon2 verification, so the response time does not reveal whether the
 * account exists.
 */
export async function verifyPassword(storedHash: string | undefined, password: string): Promise<boolean> {
  if (storedHash === undefined) {
    dummyHash ??= hash('latchkey-timing-equaliser');
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  try {
    return await verify(storedHash, password);
  } catch {
    return false;
  }
}

/** Returns a problem description, or undefined when the password is acceptable. */
export function checkPasswordStrength(password: string, context: readonly string[] = []): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
  if (password.length > 1024) return 'Use at most 1024 characters.';
  if (new Set(password).size < 5) return 'Use a less repetitive password.';
  const lower = password.toLowerCase();
  if (context.some((word) => word.length >= 4 && lower.includes(word.toLowerCase()))) {
    return 'Do not use your name or email in your password.';
  }
  return undefined;
}
