/**
 * A code exchange's or a refresh's lookup and writes in one statement
 * (CodeRepository.exchangeCode, TokenRepository.rotateRefreshToken), on
 * PostgreSQL; and a client-credentials token's (issueOnMachineGrant, at the
 * end). As two, the lookup (findCode, findRefreshToken) and the writes
 * (saveIssue in one statement, token-issue.ts) are two round trips; here the
 * row `presented` is what the lookup reads, and the token endpoint's checks
 * on it are conditions of the spend, so that the writes happen only where the
 * endpoint would have made them. Anything else (a refusal, a code with a
 * plain challenge, a refresh in the reuse grace period) writes nothing and
 * answers the row as read, and the endpoint goes on in two steps from there.
 *
 * The spend is re-checked on the newest version of its row (READ COMMITTED):
 * of two racing requests one spends, and the other sees `saved` false with
 * the row as it was before either; its saveIssue then answers 'spent'. The
 * grant is locked for update before the spend (the response may record its
 * use): a revocation that commits first leaves no live grant and nothing is
 * written; one that commits after it revokes these tokens too.
 */
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { CodeExchange, MachineTokenIssue, NewTokenHashes, RefreshRotation } from '../../core/ports.js';
import { GRANT_USE_RESOLUTION_MS } from './grant-use.js';
import { registerPreparedText } from './pg-prepared.js';
import { GRANT_AS_G } from './rows.js';
import type { Database } from './schema.js';

/** The grant's columns as findCode and findRefreshToken name them. */
const GRANT_COLUMNS = GRANT_AS_G.join(', ');

/**
 * The statement: `presented` (the lookup, joined with the grant) and `spent`
 * (the conditional spend, returning its grant, the new refresh token's scope
 * and the access token's) come from each request type; the rest is shared.
 * Parameters $1 to $8 are the same for both (see `shared`), theirs follow.
 */
function oneStep(presented: string, spent: string): string {
  const text = `WITH presented AS (${presented}),
live_grant AS (SELECT user_id, account_id FROM grants
  WHERE id = (SELECT grant_id FROM presented) AND revoked_at IS NULL FOR NO KEY UPDATE),
spent AS (${spent}),
grant_use AS (UPDATE grants SET last_used_at = $2
  WHERE id = (SELECT grant_id FROM spent) AND (last_used_at IS NULL OR last_used_at < $4)),
new_access AS (INSERT INTO access_tokens (token_hash, grant_id, client_id, user_id, account_id, scopes, created_at, expires_at)
  SELECT $5, spent.grant_id, $3, live_grant.user_id, live_grant.account_id, spent.access_scopes, $2, $6
  FROM spent, live_grant),
new_refresh AS (INSERT INTO refresh_tokens (token_hash, grant_id, client_id, scopes, created_at, expires_at)
  SELECT $7, spent.grant_id, $3, spent.scopes, $2, $8 FROM spent WHERE $7::text IS NOT NULL)
SELECT to_json(answer) AS row FROM (SELECT presented.*, EXISTS (SELECT FROM spent) AS saved FROM presented) AS answer`;
  registerPreparedText(text, { answersJson: true });
  return text;
}

function shared(presentedHash: string, clientId: string, now: number, { accessToken, refreshToken }: NewTokenHashes): unknown[] {
  return [
    presentedHash,
    now,
    clientId,
    now - GRANT_USE_RESOLUTION_MS,
    accessToken.tokenHash,
    accessToken.expiresAt,
    refreshToken?.tokenHash ?? null,
    refreshToken?.expiresAt ?? null,
  ];
}

// RFC 6749 §6: the new refresh token's scope is the presented one's; the access
// token's is the one requested ($10, a subset: $9), or else the same.
const ROTATE_REFRESH_TOKEN = oneStep(
  `SELECT t.token_hash, t.grant_id, t.client_id, t.scopes, t.created_at, t.expires_at, t.rotated_at, t.revoked_at, ${GRANT_COLUMNS}
  FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id WHERE t.token_hash = $1`,
  `UPDATE refresh_tokens SET rotated_at = $2
  WHERE token_hash = $1 AND client_id = $3 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $2
    AND $9::text[] <@ string_to_array(scopes, ' ') AND EXISTS (SELECT FROM live_grant)
  RETURNING grant_id, scopes, COALESCE($10::text, scopes) AS access_scopes`,
);

// RFC 6749 §4.1.3 and RFC 7636 §4.6: issued to this client on this channel, the
// same redirect URI ($10) if it had one, and no challenge with no verifier or an
// S256 challenge the verifier's hash ($11) equals. A plain challenge is left to
// the endpoint's own comparison, in constant time.
const EXCHANGE_CODE = oneStep(
  `SELECT c.code_hash, c.grant_id, c.client_id, c.redirect_uri, c.scopes, c.code_challenge, c.code_challenge_method,
    c.channel, c.created_at, c.expires_at, c.consumed_at, ${GRANT_COLUMNS}
  FROM authorization_codes c JOIN grants g ON g.id = c.grant_id WHERE c.code_hash = $1`,
  `UPDATE authorization_codes SET consumed_at = $2
  WHERE code_hash = $1 AND client_id = $3 AND consumed_at IS NULL AND expires_at > $2 AND channel = $9
    AND (redirect_uri IS NULL OR redirect_uri = $10::text)
    AND ((code_challenge IS NULL AND code_challenge_method IS NULL AND $11::text IS NULL)
      OR (code_challenge_method = 'S256' AND code_challenge = $11::text))
    AND EXISTS (SELECT FROM live_grant)
  RETURNING grant_id, scopes, scopes AS access_scopes`,
);

type Db = Kysely<Database> | Transaction<Database>;

/** The statement's one row, if any. */
async function run<Row>(db: Db, text: string, values: unknown[]): Promise<Row | undefined> {
  const { rows } = await db.executeQuery<Row>(CompiledQuery.raw(text, values));
  return rows[0];
}

/** The presented token, and whether the statement saved the response; undefined for an unknown token. */
export function rotateRefreshTokenInOneStatement<Row>(db: Db, rotation: RefreshRotation): Promise<(Row & { saved: boolean }) | undefined> {
  const { presentedHash, clientId, now, requested } = rotation;
  const values = [...shared(presentedHash, clientId, now, rotation), requested, requested.length > 0 ? requested.join(' ') : null];
  return run<Row & { saved: boolean }>(db, ROTATE_REFRESH_TOKEN, values);
}

/** The presented code, and whether the statement saved the response; undefined for an unknown code. */
export function exchangeCodeInOneStatement<Row>(db: Db, exchange: CodeExchange): Promise<(Row & { saved: boolean }) | undefined> {
  const { presentedHash, clientId, now, channel, redirectUri, s256Challenge } = exchange;
  return run<Row & { saved: boolean }>(db, EXCHANGE_CODE, [...shared(presentedHash, clientId, now, exchange), channel, redirectUri, s256Challenge]);
}

/**
 * A client-credentials token: the client's live machine grant (saveMachineGrant's
 * lookup) and the token's insert (saveIssue's). Only the usual case saves: the
 * grant already holds each scope ($2) and its use was recorded within the minute
 * ($3 < last_used_at <= $4), so that nothing is written to it. Anything else (no
 * grant yet, a new scope, a use due) writes nothing and answers no row, and the
 * endpoint goes on in two steps. Every request of a client shares this one row,
 * so it is locked to share (as saveIssue does when it does not record the use):
 * a revocation that commits first leaves no row here, one that commits after
 * revokes this token with the grant.
 */
const ISSUE_ON_MACHINE_GRANT = `WITH machine_grant AS (SELECT * FROM grants
  WHERE client_id = $1 AND user_id IS NULL AND revoked_at IS NULL
    AND $2::text[] <@ string_to_array(scopes, ' ') AND last_used_at > $3 AND last_used_at <= $4 FOR SHARE),
new_access AS (INSERT INTO access_tokens (token_hash, grant_id, client_id, scopes, created_at, expires_at, signing_key_id)
  SELECT $5, id, $1, $6, $4, $7, $8 FROM machine_grant)
SELECT to_json(machine_grant) AS row FROM machine_grant`;
registerPreparedText(ISSUE_ON_MACHINE_GRANT, { answersJson: true });

/** The machine grant the token was saved on; undefined when nothing was written. */
export function issueOnMachineGrantInOneStatement<Row>(db: Db, issue: MachineTokenIssue): Promise<Row | undefined> {
  const { clientId, scopes, now, accessToken } = issue;
  const values = [clientId, scopes, now - GRANT_USE_RESOLUTION_MS, now, accessToken.tokenHash, scopes.join(' '), accessToken.expiresAt, accessToken.signingKeyId];
  return run<Row>(db, ISSUE_ON_MACHINE_GRANT, values);
}
