/** The authorization code grant: the access token request (RFC 6749 §4.1.3, RFC 7636 §4.5). */
import { InvalidGrant, InvalidRequest } from '../errors.js';
import { verifierMatches } from '../pkce.js';
import { hashCredential } from '../secrets.js';
import { issueTokens } from '../tokens.js';
import type { GrantHandler } from './types.js';

const UNUSABLE = 'The authorization code is invalid, expired, already used or was issued to another client.';

export const authorizationCodeGrant: GrantHandler = {
  type: 'authorization_code',
  async handle({ params, client, store, settings, endpoint, now, ip }) {
    const code = params.code;
    if (!code) throw new InvalidRequest('The code parameter is required.');
    const found = await store.findCode(hashCredential(code));
    if (!found) throw new InvalidGrant(UNUSABLE, 'unknown code');
    const { record, grant } = found;

    // RFC 6749 §4.1.2: "If an authorization code is used more than once, the
    // authorization server MUST deny the request and SHOULD revoke (when
    // possible) all tokens previously issued based on that authorization code."
    const reuseDetected = async (raced: boolean) => {
      await store.revokeGrant(record.grantId, now, 'authorization_code_reuse');
      await store.recordAudit?.(
        { type: 'authorization_code.reuse_detected', actor: client.id, ip: ip ?? null, subject: record.grantId, detail: { clientId: client.id, raced } },
        now,
      );
    };
    if (record.consumedAt !== null) {
      await reuseDetected(false);
      throw new InvalidGrant(UNUSABLE, 'code reuse: grant revoked');
    }
    // §4.1.3: "ensure that the authorization code was issued to the authenticated confidential client".
    if (record.clientId !== client.id) throw new InvalidGrant(UNUSABLE, 'code issued to another client');
    if (record.expiresAt <= now) throw new InvalidGrant(UNUSABLE, 'code expired');
    if (record.channel !== endpoint.channel) throw new InvalidGrant(UNUSABLE, 'code issued on another authorize endpoint');

    // §4.1.3: "ensure that the "redirect_uri" parameter is present if the
    // "redirect_uri" parameter was included in the initial authorization
    // request ..., and if included ensure that their values are identical."
    if (endpoint.redirectUriRequired && params.redirect_uri === undefined) {
      throw new InvalidRequest('The redirect_uri parameter is required.');
    }
    if (record.redirectUri !== null && params.redirect_uri !== record.redirectUri) {
      throw new InvalidGrant('redirect_uri does not match the one in the authorization request.');
    }

    const verifier = params.code_verifier;
    if (record.codeChallenge !== null && record.codeChallengeMethod !== null) {
      if (verifier === undefined) throw new InvalidGrant('code_verifier is required (PKCE).');
      if (!verifierMatches(verifier, record.codeChallenge, record.codeChallengeMethod)) {
        throw new InvalidGrant('code_verifier does not match the code_challenge.');
      }
    } else if (verifier !== undefined) {
      // RFC 9700 §2.1.1: the server must reject a code_verifier for a code
      // issued without a challenge (PKCE downgrade, §4.8.2).
      throw new InvalidGrant('code_verifier was sent for a code issued without code_challenge.');
    }

    if (grant.revokedAt !== null) throw new InvalidGrant(UNUSABLE, 'grant revoked');

    // The code is consumed by the same conditional write that saves the tokens:
    // the single-use guarantee across instances.
    const issued = await issueTokens(store, { grant, client, scopes: record.scopes, settings, endpoint, now, spends: { codeHash: record.codeHash } });
    if (issued === 'spent') {
      await reuseDetected(true);
      throw new InvalidGrant(UNUSABLE, 'code raced by a concurrent request: grant revoked');
    }
    if (issued === 'grant_revoked') throw new InvalidGrant(UNUSABLE, 'grant revoked');
    return issued;
  },
};
