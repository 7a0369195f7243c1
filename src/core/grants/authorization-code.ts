/** The authorization code grant: the access token request (RFC 6749 §4.1.3, RFC 7636 §4.5). */
import { InvalidGrant, InvalidRequest } from '../errors.js';
import type { AuthorizationCode } from '../model.js';
import type { WithGrant } from '../ports.js';
import { isWellFormedVerifier, s256, verifierMatches } from '../pkce.js';
import { hashCredential } from '../secrets.js';
import { accessTokenFormat, type IssuedTokens, issueTokens, preMintTokens } from '../tokens.js';
import type { GrantHandler, TokenRequestContext } from './types.js';

const UNUSABLE = 'The authorization code is invalid, expired, already used or was issued to another client.';

/**
 * The usual exchange in one step of the store (CodeRepository.exchangeCode: one
 * round trip on PostgreSQL where the lookup and the write are two). Answers the
 * issued tokens, or else the code as the store found it, for the checks below
 * to say what is wrong (or to verify a plain challenge, which the store leaves
 * to them).
 */
async function exchangeInOneStep(
  { params, client, store, settings, endpoint, now }: TokenRequestContext,
  presentedHash: string,
  verifier: string | undefined,
): Promise<IssuedTokens | WithGrant<AuthorizationCode> | undefined> {
  const minted = preMintTokens(client, settings, endpoint, now);
  const result = await store.exchangeCode?.({
    presentedHash,
    clientId: client.id,
    channel: endpoint.channel,
    redirectUri: params.redirect_uri ?? null,
    s256Challenge: verifier === undefined ? null : s256(verifier),
    now,
    ...minted.hashes,
  });
  if (!result?.saved) return result;
  return minted.issued(result.record.scopes, result.grant);
}

export const authorizationCodeGrant: GrantHandler = {
  type: 'authorization_code',
  async handle(context) {
    const { params, client, store, settings, endpoint, now, ip } = context;
    const code = params.code;
    if (!code) throw new InvalidRequest('The code parameter is required.');
    const codeHash = hashCredential(code);
    const verifier = params.code_verifier;
    let found: WithGrant<AuthorizationCode> | undefined;
    if (
      store.exchangeCode &&
      accessTokenFormat(client, settings) === 'opaque' &&
      (params.redirect_uri !== undefined || !endpoint.redirectUriRequired) &&
      (verifier === undefined || isWellFormedVerifier(verifier))
    ) {
      const stepped = await exchangeInOneStep(context, codeHash, verifier);
      if (stepped && 'accessToken' in stepped) return stepped;
      found = stepped;
    } else {
      found = await store.findCode(codeHash);
    }
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
