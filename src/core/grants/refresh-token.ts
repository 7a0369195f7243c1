/** Refreshing an access token (RFC 6749 §6) with rotation (RFC 9700 §4.14.2). */
import { InvalidGrant, InvalidRequest, InvalidScope } from '../errors.js';
import type { RefreshToken } from '../model.js';
import type { WithGrant } from '../ports.js';
import { isSubset, parseScope } from '../scope.js';
import { hashCredential } from '../secrets.js';
import { accessTokenFormat, type IssuedTokens, issueTokens, preMintTokens } from '../tokens.js';
import type { GrantHandler, TokenRequestContext } from './types.js';

const UNUSABLE = 'The refresh token is invalid, expired, revoked or was issued to another client.';

/**
 * The usual refresh in one step of the store (TokenRepository.rotateRefreshToken:
 * one round trip on PostgreSQL where the lookup and the write are two). Answers
 * the issued tokens, or else the token as the store found it, for the checks
 * below to say what is wrong (or, in the reuse grace period, to issue on the
 * retired token).
 */
async function rotateInOneStep(
  { client, store, settings, endpoint, now }: TokenRequestContext,
  presentedHash: string,
  requested: string[],
): Promise<IssuedTokens | WithGrant<RefreshToken> | undefined> {
  const minted = preMintTokens(client, settings, endpoint, now);
  const result = await store.rotateRefreshToken?.({ presentedHash, clientId: client.id, requested, now, ...minted.hashes });
  if (!result?.saved) return result;
  return minted.issued(requested.length > 0 ? requested : result.record.scopes, result.grant);
}

export const refreshTokenGrant: GrantHandler = {
  type: 'refresh_token',
  async handle(context) {
    const { params, client, store, settings, endpoint, now, ip } = context;
    const presented = params.refresh_token;
    if (!presented) throw new InvalidRequest('The refresh_token parameter is required.');
    const presentedHash = hashCredential(presented);
    const requested = parseScope(params.scope);
    let found: WithGrant<RefreshToken> | undefined;
    if (store.rotateRefreshToken && requested !== undefined && accessTokenFormat(client, settings) === 'opaque') {
      const stepped = await rotateInOneStep(context, presentedHash, requested);
      if (stepped && 'accessToken' in stepped) return stepped;
      found = stepped;
    } else {
      found = await store.findRefreshToken(presentedHash);
    }
    if (!found) throw new InvalidGrant(UNUSABLE, 'unknown refresh token');
    const { record, grant } = found;
    // §6: "validate the refresh token and ensure that it was issued to the authenticated client"
    if (record.clientId !== client.id) throw new InvalidGrant(UNUSABLE, 'refresh token of another client');
    if (record.revokedAt !== null) throw new InvalidGrant(UNUSABLE, 'refresh token revoked');
    if (record.expiresAt <= now) throw new InvalidGrant(UNUSABLE, 'refresh token expired');

    // RFC 9700 §4.14.2: "If a refresh token is compromised and subsequently
    // used by both the attacker and the legitimate client, one of them will
    // present an invalidated refresh token, which will inform the
    // authorization server of the breach" — the whole grant is revoked.
    const graceMs = settings.refreshReuseGraceSeconds * 1000;
    const withinGrace = record.rotatedAt !== null && graceMs > 0 && now - record.rotatedAt < graceMs;
    const reuseDetected = async (raced: boolean) => {
      await store.revokeGrant(record.grantId, now, 'refresh_token_reuse');
      await store.recordAudit?.(
        { type: 'refresh_token.reuse_detected', actor: client.id, ip: ip ?? null, subject: record.grantId, detail: { clientId: client.id, raced } },
        now,
      );
    };
    if (record.rotatedAt !== null && !withinGrace) {
      await reuseDetected(false);
      throw new InvalidGrant(UNUSABLE, 'refresh token reuse: grant revoked');
    }

    // §6: "The requested scope MUST NOT include any scope not originally granted".
    if (requested === undefined) throw new InvalidScope('The scope parameter is malformed.');
    if (!isSubset(requested, record.scopes)) {
      throw new InvalidScope('The requested scope exceeds the scope originally granted.');
    }
    const scopes = requested.length > 0 ? requested : record.scopes;

    if (grant.revokedAt !== null) throw new InvalidGrant(UNUSABLE, 'grant revoked');

    // The old token is retired by the same write that saves its successors:
    // two requests racing with it cannot both succeed (§4.14.2 applies to the loser).
    const issued = await issueTokens(store, {
      grant,
      client,
      scopes,
      refreshScopes: record.scopes,
      settings,
      endpoint,
      now,
      spends: withinGrace ? undefined : { refreshTokenHash: record.tokenHash },
    });
    if (issued === 'spent') {
      await reuseDetected(true);
      throw new InvalidGrant(UNUSABLE, 'refresh token raced by a concurrent request: grant revoked');
    }
    if (issued === 'grant_revoked') throw new InvalidGrant(UNUSABLE, 'grant revoked');
    return issued;
  },
};
