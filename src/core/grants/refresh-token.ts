/** Refreshing an access token (RFC 6749 §6) with rotation (RFC 9700 §4.14.2). */
import { InvalidGrant, InvalidRequest, InvalidScope } from '../errors.js';
import { isSubset, parseScope } from '../scope.js';
import { hashCredential } from '../secrets.js';
import { issueTokens } from '../tokens.js';
import type { GrantHandler } from './types.js';

const UNUSABLE = 'The refresh token is invalid, expired, revoked or was issued to another client.';

export const refreshTokenGrant: GrantHandler = {
  type: 'refresh_token',
  async handle({ params, client, store, settings, endpoint, now, ip }) {
    const presented = params.refresh_token;
    if (!presented) throw new InvalidRequest('The refresh_token parameter is required.');
    const found = await store.findRefreshToken(hashCredential(presented));
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
    const requested = parseScope(params.scope);
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
