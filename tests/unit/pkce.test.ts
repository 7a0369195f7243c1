/** Proof Key for Code Exchange (RFC 7636, RFC 9700 §2.1.1). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkChallenge, type PkcePolicy, s256, verifierMatches } from '../../src/core/pkce.js';

/** RFC 7636 Appendix B. */
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

const PUBLIC_ONLY: PkcePolicy = { requiredFor: 'public', allowPlain: false };
const ALL: PkcePolicy = { requiredFor: 'all', allowPlain: false };
const PLAIN_ALLOWED: PkcePolicy = { requiredFor: 'public', allowPlain: true };

describe('checkChallenge', () => {
  test('a confidential client may omit PKCE when the policy requires it of public clients only', () => {
    assert.equal(checkChallenge(undefined, undefined, PUBLIC_ONLY, false), undefined);
  });

  test('RFC 9700 §2.1.1: a public client without code_challenge is refused', () => {
    assert.match(checkChallenge(undefined, undefined, PUBLIC_ONLY, true) ?? '', /code_challenge is required/);
  });

  test('RFC 9700 §2.1.1: with requiredFor "all" a confidential client without code_challenge is refused', () => {
    assert.match(checkChallenge(undefined, undefined, ALL, false) ?? '', /code_challenge is required/);
    assert.match(checkChallenge(undefined, undefined, ALL, true) ?? '', /code_challenge is required/);
  });

  test('code_challenge_method without code_challenge is refused, even where PKCE is optional', () => {
    assert.match(checkChallenge(undefined, 'S256', PUBLIC_ONLY, false) ?? '', /without code_challenge/);
  });

  test('RFC 7636 §4.2: a well-formed S256 challenge is accepted for public and confidential clients', () => {
    assert.equal(checkChallenge(CHALLENGE, 'S256', PUBLIC_ONLY, true), undefined);
    assert.equal(checkChallenge(CHALLENGE, 'S256', ALL, false), undefined);
  });

  test('RFC 7636 §4.2: an S256 challenge that is not 43 base64url characters is refused', () => {
    const malformed = [
      CHALLENGE.slice(0, 42),
      `${CHALLENGE}A`,
      `${CHALLENGE.slice(0, 42)}=`,
      `${CHALLENGE.slice(0, 42)}+`,
      `${CHALLENGE.slice(0, 42)}/`,
      `${CHALLENGE.slice(0, 42)}.`,
      `${CHALLENGE.slice(0, 42)}~`,
      `${CHALLENGE.slice(0, 42)} `,
      '',
    ];
    for (const challenge of malformed) {
      assert.match(checkChallenge(challenge, 'S256', PUBLIC_ONLY, true) ?? '', /not a valid S256 challenge/, challenge);
    }
  });

  test('RFC 9700 §2.1.1: the plain method is refused unless the policy allows it', () => {
    assert.match(checkChallenge(VERIFIER, 'plain', PUBLIC_ONLY, true) ?? '', /must be S256/);
    assert.match(checkChallenge(VERIFIER, 'plain', PUBLIC_ONLY, false) ?? '', /must be S256/);
  });

  test('RFC 7636 §4.3: an omitted method means plain, so it is refused unless plain is allowed', () => {
    assert.match(checkChallenge(CHALLENGE, undefined, PUBLIC_ONLY, true) ?? '', /must be S256/);
    assert.equal(checkChallenge(VERIFIER, undefined, PLAIN_ALLOWED, true), undefined);
  });

  test('RFC 7636 §4.2: where plain is allowed, a plain challenge is accepted', () => {
    assert.equal(checkChallenge(VERIFIER, 'plain', PLAIN_ALLOWED, true), undefined);
  });

  test('RFC 7636 §4.1: a plain challenge must have the verifier syntax (43 to 128 unreserved characters)', () => {
    for (const challenge of ['a'.repeat(42), 'a'.repeat(129), `${'a'.repeat(42)}+`, `${'a'.repeat(42)}/`, `${'a'.repeat(42)}=`]) {
      assert.match(checkChallenge(challenge, 'plain', PLAIN_ALLOWED, true) ?? '', /malformed/, challenge);
    }
    assert.equal(checkChallenge('a'.repeat(43), 'plain', PLAIN_ALLOWED, true), undefined);
    assert.equal(checkChallenge('a'.repeat(128), 'plain', PLAIN_ALLOWED, true), undefined);
  });

  test('RFC 7636 §4.3: an unknown or differently-cased method is refused', () => {
    for (const method of ['s256', 'S512', 'SHA256', 'PLAIN', '']) {
      assert.match(checkChallenge(CHALLENGE, method, PLAIN_ALLOWED, true) ?? '', /not supported/, method);
    }
  });
});

describe('verifierMatches', () => {
  test('RFC 7636 Appendix B: the example verifier hashes to the example challenge', () => {
    assert.equal(s256(VERIFIER), CHALLENGE);
    assert.equal(verifierMatches(VERIFIER, CHALLENGE, 'S256'), true);
  });

  test('RFC 7636 §4.6: a different verifier does not match', () => {
    const other = `${VERIFIER.slice(0, -1)}l`;
    assert.notEqual(other, VERIFIER);
    assert.equal(verifierMatches(other, CHALLENGE, 'S256'), false);
  });

  test('RFC 7636 §4.6: an S256 challenge is not matched by sending the challenge itself or the verifier as plain', () => {
    assert.equal(verifierMatches(CHALLENGE, CHALLENGE, 'S256'), false);
    assert.equal(verifierMatches(VERIFIER, VERIFIER, 'S256'), false);
    assert.equal(verifierMatches(VERIFIER, CHALLENGE, 'plain'), false);
  });

  test('RFC 7636 §4.6: with plain the verifier must equal the challenge', () => {
    assert.equal(verifierMatches(VERIFIER, VERIFIER, 'plain'), true);
    assert.equal(verifierMatches(VERIFIER, `${VERIFIER.slice(0, -1)}l`, 'plain'), false);
  });

  test('RFC 7636 §4.1: a verifier shorter than 43 characters is refused even when its hash matches', () => {
    const short = 'a'.repeat(42);
    assert.equal(verifierMatches(short, s256(short), 'S256'), false);
    assert.equal(verifierMatches(short, short, 'plain'), false);
    const minimum = 'a'.repeat(43);
    assert.equal(verifierMatches(minimum, s256(minimum), 'S256'), true);
  });

  test('RFC 7636 §4.1: a verifier longer than 128 characters is refused even when its hash matches', () => {
    const long = 'b'.repeat(129);
    assert.equal(verifierMatches(long, s256(long), 'S256'), false);
    const maximum = 'b'.repeat(128);
    assert.equal(verifierMatches(maximum, s256(maximum), 'S256'), true);
  });

  test('RFC 7636 §4.1: a verifier with a character outside the unreserved set is refused', () => {
    for (const bad of ['+', '/', '=', ' ', '%', 'é', '\n']) {
      const verifier = `${VERIFIER}${bad}`;
      assert.equal(verifierMatches(verifier, s256(verifier), 'S256'), false, JSON.stringify(bad));
    }
  });

  test('RFC 7636 §4.1: every unreserved character (ALPHA / DIGIT / "-" / "." / "_" / "~") is allowed', () => {
    const verifier = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';
    assert.equal(verifierMatches(verifier, s256(verifier), 'S256'), true);
  });
});
