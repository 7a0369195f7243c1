/** Proof Key for Code Exchange (RFC 7636). */
import { createHash } from 'node:crypto';
import { hashesEqual } from './secrets.js';

/**
 * RFC 7636 §4.1: code-verifier = 43*128unreserved, unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~".
 * §4.2: for S256 the challenge is BASE64URL(SHA256(verifier)), always 43 characters.
 */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
const S256_CHALLENGE = /^[A-Za-z0-9\-_]{43}$/;
const PLAIN_CHALLENGE = VERIFIER;

export type ChallengeMethod = 'S256' | 'plain';

export interface PkcePolicy {
  /** Which clients must send a code_challenge. */
  requiredFor: 'public' | 'all';
  /** RFC 9700 §2.1.1 discourages "plain"; a preset may allow it. */
  allowPlain: boolean;
}

/** Returns a problem description, or undefined when the challenge parameters are acceptable. */
export function checkChallenge(
  challenge: string | undefined,
  method: string | undefined,
  policy: PkcePolicy,
  isPublicClient: boolean,
): string | undefined {
  if (challenge === undefined) {
    if (method !== undefined) return 'code_challenge_method was sent without code_challenge.';
    if (policy.requiredFor === 'all' || isPublicClient) return 'code_challenge is required (PKCE, RFC 7636).';
    return undefined;
  }
  // RFC 7636 §4.3: "defaults to "plain" if not present in the request".
  const effective = method ?? 'plain';
  if (effective === 'S256') {
    return S256_CHALLENGE.test(challenge) ? undefined : 'code_challenge is not a valid S256 challenge.';
  }
  if (effective === 'plain') {
    if (!policy.allowPlain) return 'code_challenge_method must be S256.';
    return PLAIN_CHALLENGE.test(challenge) ? undefined : 'code_challenge is malformed.';
  }
  return 'code_challenge_method is not supported.';
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/** RFC 7636 §4.1: whether the code_verifier has the form a verifier must have. */
export function isWellFormedVerifier(verifier: string): boolean {
  return VERIFIER.test(verifier);
}

/** RFC 7636 §4.6: recompute the challenge from the verifier and compare. */
export function verifierMatches(verifier: string, challenge: string, method: string): boolean {
  if (!isWellFormedVerifier(verifier)) return false;
  const computed = method === 'S256' ? s256(verifier) : verifier;
  return hashesEqual(computed, challenge);
}
