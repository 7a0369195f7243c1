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
 * One statement carries a batch of exchanges, refreshes or client-credentials
 * tokens, each request answered by its own row (statement-batch.ts sends them).
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
 * Requests one statement carries at most (statement-batch.ts). It is also the
 * LIMIT on the statement's input, so that PostgreSQL estimates as many rows
 * for it in a custom plan as in the generic one, whatever the batch: with
 * `json_to_recordset`'s default estimate of 100 rows, the generic plan it kept
 * took some 250 µs of its CPU per exchange in statements of 16, against 70
 * with the LIMIT; with `unnest` of arrays, whose custom estimate follows each
 * array's length, it kept planning small batches anew, at some 640 µs per
 * exchange (bench/ANALYSIS.md, fifteenth pass).
 */
export const MAX_BATCH = 16;

/** Each request's values, as json_to_recordset reads them; `n` is its place in the batch, from 1. */
const SHARED_INPUT = `n integer, presented_hash text, client_id text, now bigint, used_before bigint,
  access_hash text, access_expires bigint, refresh_hash text, refresh_expires bigint`;

/**
 * The statement, for a batch of requests ($1, a json array, one object per
 * request): `presented` (each lookup, joined with its grant, numbered by its
 * request) and `spent` (the conditional spends, each returning its request's
 * number, its grant, the new refresh token's scope and the access token's)
 * come from each request type; the rest is shared. Each request's writes
 * join its own `spent` row, so that one request refused writes nothing of its
 * own and takes nothing from the others.
 *
 * A value presented twice in one batch is spent once: PostgreSQL updates a
 * row once per statement, by one of the inputs that meet every condition, and
 * RETURNING names that one; the other answers `saved` false, as it would
 * after the first.
 *
 * The grants are locked in the order of their ids: two batches that share
 * grants lock them in the same order. A deadlock left (two batches spending
 * the same code) is PostgreSQL's error, and each request is then run alone
 * (statement-batch.ts).
 */
function oneStep(input: string, presented: string, spent: string): string {
  const text = `WITH input AS (SELECT * FROM json_to_recordset($1::json) AS i(${SHARED_INPUT}, ${input}) LIMIT ${MAX_BATCH}),
presented AS (${presented}),
live_grant AS (SELECT id, user_id, account_id FROM grants
  WHERE id IN (SELECT grant_id FROM presented) AND revoked_at IS NULL ORDER BY id FOR NO KEY UPDATE),
spent AS (${spent}),
grant_use AS (UPDATE grants g SET last_used_at = i.now FROM spent s JOIN input i ON i.n = s.n
  WHERE g.id = s.grant_id AND (g.last_used_at IS NULL OR g.last_used_at < i.used_before)),
new_access AS (INSERT INTO access_tokens (token_hash, grant_id, client_id, user_id, account_id, scopes, created_at, expires_at)
  SELECT i.access_hash, s.grant_id, i.client_id, l.user_id, l.account_id, s.access_scopes, i.now, i.access_expires
  FROM spent s JOIN input i ON i.n = s.n JOIN live_grant l ON l.id = s.grant_id),
new_refresh AS (INSERT INTO refresh_tokens (token_hash, grant_id, client_id, scopes, created_at, expires_at)
  SELECT i.refresh_hash, s.grant_id, i.client_id, s.scopes, i.now, i.refresh_expires
  FROM spent s JOIN input i ON i.n = s.n WHERE i.refresh_hash IS NOT NULL)
SELECT to_json(answer) AS row FROM (SELECT p.*, EXISTS (SELECT FROM spent s WHERE s.n = p.n) AS saved FROM presented p) AS answer`;
  registerPreparedText(text, { answersJson: true });
  return text;
}

/** A request's values in the statement's input (the fields of the other request type are null). */
interface StatementInput {
  n: number;
  presented_hash: string;
  client_id: string;
  now: number;
  used_before: number;
  access_hash: string;
  access_expires: number;
  refresh_hash: string | null;
  refresh_expires: number | null;
  requested: string | null;
  channel: string | null;
  redirect_uri: string | null;
  s256_challenge: string | null;
}

type OneStepRequest = NewTokenHashes & { presentedHash: string; clientId: string; now: number };

/**
 * One object literal for every request, so that each has the same shape. The
 * request's own strings (a redirect URI, a scope) are made well-formed: a JSON
 * body can carry a lone surrogate, which JSON.stringify writes as an escape
 * PostgreSQL's json refuses, failing the whole batch. As a text parameter it
 * was sent as UTF-8, that is as U+FFFD, and matched nothing; so it is here.
 */
function toInput(
  n: number,
  { presentedHash, clientId, now, accessToken, refreshToken }: OneStepRequest,
  requested: string | null,
  code: CodeExchange | undefined,
): StatementInput {
  return {
    n,
    presented_hash: presentedHash,
    client_id: clientId,
    now,
    used_before: now - GRANT_USE_RESOLUTION_MS,
    access_hash: accessToken.tokenHash,
    access_expires: accessToken.expiresAt,
    refresh_hash: refreshToken?.tokenHash ?? null,
    refresh_expires: refreshToken?.expiresAt ?? null,
    requested: requested?.toWellFormed() ?? null,
    channel: code?.channel ?? null,
    redirect_uri: code?.redirectUri?.toWellFormed() ?? null,
    s256_challenge: code?.s256Challenge ?? null,
  };
}

// RFC 6749 §6: the new refresh token's scope is the presented one's; the access
// token's is the one requested (`requested`, space-separated, a subset), or
// else the same.
const ROTATE_REFRESH_TOKEN = oneStep(
  'requested text',
  `SELECT i.n, t.token_hash, t.grant_id, t.client_id, t.scopes, t.created_at, t.expires_at, t.rotated_at, t.revoked_at, ${GRANT_COLUMNS}
  FROM input i JOIN refresh_tokens t ON t.token_hash = i.presented_hash JOIN grants g ON g.id = t.grant_id`,
  `UPDATE refresh_tokens t SET rotated_at = i.now FROM input i
  WHERE t.token_hash = i.presented_hash AND t.client_id = i.client_id AND t.rotated_at IS NULL AND t.revoked_at IS NULL
    AND t.expires_at > i.now AND string_to_array(i.requested, ' ') <@ string_to_array(t.scopes, ' ')
    AND EXISTS (SELECT FROM live_grant l WHERE l.id = t.grant_id)
  RETURNING i.n, t.grant_id, t.scopes, COALESCE(NULLIF(i.requested, ''), t.scopes) AS access_scopes`,
);

// RFC 6749 §4.1.3 and RFC 7636 §4.6: issued to this client on this channel, the
// same redirect URI if it had one, and no challenge with no verifier or an S256
// challenge the verifier's hash (`s256_challenge`) equals. A plain challenge is
// left to the endpoint's own comparison, in constant time.
const EXCHANGE_CODE = oneStep(
  'channel text, redirect_uri text, s256_challenge text',
  `SELECT i.n, c.code_hash, c.grant_id, c.client_id, c.redirect_uri, c.scopes, c.code_challenge, c.code_challenge_method,
    c.channel, c.created_at, c.expires_at, c.consumed_at, ${GRANT_COLUMNS}
  FROM input i JOIN authorization_codes c ON c.code_hash = i.presented_hash JOIN grants g ON g.id = c.grant_id`,
  `UPDATE authorization_codes c SET consumed_at = i.now FROM input i
  WHERE c.code_hash = i.presented_hash AND c.client_id = i.client_id AND c.consumed_at IS NULL AND c.expires_at > i.now
    AND c.channel = i.channel AND (c.redirect_uri IS NULL OR c.redirect_uri = i.redirect_uri)
    AND ((c.code_challenge IS NULL AND c.code_challenge_method IS NULL AND i.s256_challenge IS NULL)
      OR (c.code_challenge_method = 'S256' AND c.code_challenge = i.s256_challenge))
    AND EXISTS (SELECT FROM live_grant l WHERE l.id = c.grant_id)
  RETURNING i.n, c.grant_id, c.scopes, c.scopes AS access_scopes`,
);

type Db = Kysely<Database> | Transaction<Database>;

/** What the statement adds to each request's row: its place in the batch, and whether its response was saved. */
interface Answered {
  n: number;
  saved: boolean;
}

/** The row of each request, in the requests' order (undefined: nothing is presented by that value). */
async function runBatch<Row extends { n: number }>(db: Db, text: string, inputs: { n: number }[]): Promise<(Row | undefined)[]> {
  if (inputs.length === 0 || inputs.length > MAX_BATCH) throw new TypeError(`a batch holds 1 to ${MAX_BATCH} requests`);
  const { rows } = await db.executeQuery<Row>(CompiledQuery.raw(text, [JSON.stringify(inputs)]));
  const answers = new Array<Row | undefined>(inputs.length).fill(undefined);
  for (const row of rows) answers[row.n - 1] = row;
  return answers;
}

/** Each presented refresh token and whether the statement saved its response, in order; undefined for an unknown token. */
export function rotateRefreshTokensInOneStatement<Row>(db: Db, rotations: RefreshRotation[]): Promise<(Row & Answered | undefined)[]> {
  return runBatch<Row & Answered>(
    db,
    ROTATE_REFRESH_TOKEN,
    rotations.map((rotation, index) => toInput(index + 1, rotation, rotation.requested.join(' '), undefined)),
  );
}

/** Each presented code and whether the statement saved its response, in order; undefined for an unknown code. */
export function exchangeCodesInOneStatement<Row>(db: Db, exchanges: CodeExchange[]): Promise<(Row & Answered | undefined)[]> {
  return runBatch<Row & Answered>(
    db,
    EXCHANGE_CODE,
    exchanges.map((exchange, index) => toInput(index + 1, exchange, null, exchange)),
  );
}

/**
 * A client-credentials token: the client's live machine grant (saveMachineGrant's
 * lookup) and the token's insert (saveIssue's), for a batch of requests of any
 * clients. Only the usual case saves: the grant already holds each requested
 * scope and its use was recorded within the minute (`used_after` <
 * last_used_at <= `now`), so that nothing is written to it. Anything else (no
 * grant yet, a new scope, a use due) writes nothing and answers no row, and the
 * endpoint goes on in two steps. Every request of a client shares its one row
 * (a unique index holds one live machine grant per client), so it is locked to
 * share (as saveIssue does when it does not record the use): a revocation that
 * commits first leaves no row here, one that commits after revokes this token
 * with the grant.
 */
const ISSUE_ON_MACHINE_GRANT = `WITH input AS (SELECT * FROM json_to_recordset($1::json) AS i(n integer, client_id text, requested text,
  used_after bigint, now bigint, access_hash text, access_expires bigint, signing_key_id text) LIMIT ${MAX_BATCH}),
machine_grant AS (SELECT i.n, g.* FROM input i JOIN grants g ON g.client_id = i.client_id
  WHERE g.user_id IS NULL AND g.revoked_at IS NULL AND string_to_array(i.requested, ' ') <@ string_to_array(g.scopes, ' ')
    AND g.last_used_at > i.used_after AND g.last_used_at <= i.now
  ORDER BY g.id FOR SHARE OF g),
new_access AS (INSERT INTO access_tokens (token_hash, grant_id, client_id, scopes, created_at, expires_at, signing_key_id)
  SELECT i.access_hash, m.id, i.client_id, i.requested, i.now, i.access_expires, i.signing_key_id FROM machine_grant m JOIN input i ON i.n = m.n)
SELECT to_json(machine_grant) AS row FROM machine_grant`;
registerPreparedText(ISSUE_ON_MACHINE_GRANT, { answersJson: true });

/** For each request, the machine grant its token was saved on, in order; undefined where nothing was written. */
export async function issueOnMachineGrantsInOneStatement<Row>(db: Db, issues: MachineTokenIssue[]): Promise<(Row | undefined)[]> {
  const inputs = issues.map(({ clientId, scopes, now, accessToken }, index) => ({
    n: index + 1,
    client_id: clientId,
    requested: scopes.join(' ').toWellFormed(),
    used_after: now - GRANT_USE_RESOLUTION_MS,
    now,
    access_hash: accessToken.tokenHash,
    access_expires: accessToken.expiresAt,
    signing_key_id: accessToken.signingKeyId,
  }));
  return runBatch<Row & { n: number }>(db, ISSUE_ON_MACHINE_GRANT, inputs);
}
