/**
 * A token response's writes (TokenRepository.saveIssue) on PostgreSQL, in one
 * statement.
 *
 * As a transaction they are five round trips (BEGIN, the spend, two inserts,
 * COMMIT), and a sixth once a minute for the grant's use: node-postgres sends
 * one statement and waits for its answer before the next. One statement is
 * atomic by itself: its data-modifying CTEs commit together or not at all.
 * The inserts select from the spend's RETURNING (or, with nothing to spend,
 * from the locked live grant), so when the code or refresh token was spent
 * first (the conditional UPDATE matched no row, or waited for a concurrent one
 * and then no longer matched) or the grant is revoked, nothing is written.
 * Each shape of the statement is a named prepared statement. (SQLite runs the same
 * writes as a transaction, which costs it no round trip: repositories/tokens.ts. A usual code
 * exchange or refresh on PostgreSQL joins its lookup to these writes instead:
 * one-step.ts.)
 */
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { IssueOutcome, TokenIssue } from '../../core/ports.js';
import { GRANT_USE_RESOLUTION_MS, grantUseDue } from './grant-use.js';
import { registerPreparedText } from './pg-prepared.js';
import { ACCESS_TOKEN_COLUMNS, fromAccessToken, fromRefreshToken, REFRESH_TOKEN_COLUMNS } from './rows.js';
import type { AccessTokensTable, Database, RefreshTokensTable } from './schema.js';

interface Bound {
  issue: TokenIssue;
  access: AccessTokensTable;
  refresh: RefreshTokensTable | undefined;
}

interface Statement {
  text: string;
  values(issue: TokenIssue): unknown[];
}

type Spends = 'code' | 'refresh' | undefined;

function spendsOf(issue: TokenIssue): Spends {
  if (issue.spends === undefined) return undefined;
  return 'codeHash' in issue.spends ? 'code' : 'refresh';
}

/** The statement's text for one shape, and how to bind an issue of that shape to it. */
function compose(spends: Spends, touch: boolean, refresh: boolean): Statement {
  const getters: Array<(bound: Bound) => unknown> = [];
  const $ = (get: (bound: Bound) => unknown): string => `$${getters.push(get)}`;
  const spentHash = ({ issue: { spends: what } }: Bound) => (what && 'codeHash' in what ? what.codeHash : what?.refreshTokenHash);
  // The grant is locked first, before any token row; revokeGrant writes only
  // the grant's row. A revocation that commits first leaves no live grant here
  // (nothing is written); one that commits after waits for this statement, and
  // the tokens it wrote are revoked with the grant (every token lookup joins
  // it). Concurrent responses on one grant share the lock, but the one that
  // records the grant's use takes it for update: two sharers that both then
  // updated the row would deadlock.
  const ctes = [
    `live_grant AS (SELECT FROM grants WHERE id = ${$((b) => b.issue.grant.id)} AND revoked_at IS NULL
      FOR ${touch ? 'NO KEY UPDATE' : 'SHARE'})`,
  ];
  if (spends === 'code') {
    ctes.push(`spent AS (UPDATE authorization_codes SET consumed_at = ${$((b) => b.issue.now)}
      WHERE code_hash = ${$(spentHash)} AND consumed_at IS NULL AND EXISTS (SELECT FROM live_grant) RETURNING 1)`);
  } else if (spends === 'refresh') {
    ctes.push(`spent AS (UPDATE refresh_tokens SET rotated_at = ${$((b) => b.issue.now)}
      WHERE token_hash = ${$(spentHash)} AND rotated_at IS NULL AND revoked_at IS NULL AND EXISTS (SELECT FROM live_grant) RETURNING 1)`);
  }
  // One row when the grant is live and the spend (if any) matched; none otherwise.
  const source = spends ? 'spent' : 'live_grant';
  if (touch) {
    ctes.push(`grant_use AS (UPDATE grants SET last_used_at = ${$((b) => b.issue.now)}
      WHERE id = ${$((b) => b.issue.grant.id)}
      AND (last_used_at IS NULL OR last_used_at < ${$((b) => b.issue.now - GRANT_USE_RESOLUTION_MS)})
      AND EXISTS (SELECT FROM ${source}))`);
  }
  const insert = (name: string, table: string, columns: readonly string[], row: (bound: Bound) => Record<string, unknown>) =>
    `${name} AS (INSERT INTO ${table} (${columns.join(', ')})
      SELECT ${columns.map((column) => $((b) => row(b)[column])).join(', ')} FROM ${source})`;
  ctes.push(insert('new_access', 'access_tokens', ACCESS_TOKEN_COLUMNS, (b) => b.access as unknown as Record<string, unknown>));
  if (refresh) ctes.push(insert('new_refresh', 'refresh_tokens', REFRESH_TOKEN_COLUMNS, (b) => b.refresh as unknown as Record<string, unknown>));
  const text = `WITH ${ctes.join(',\n')}
SELECT EXISTS (SELECT FROM live_grant) AS live, ${spends ? 'EXISTS (SELECT FROM spent)' : 'true'} AS matched`;
  registerPreparedText(text);
  return {
    text,
    values(issue) {
      const bound = { issue, access: fromAccessToken(issue.accessToken), refresh: issue.refreshToken && fromRefreshToken(issue.refreshToken) };
      return getters.map((get) => get(bound));
    },
  };
}

const statements = new Map<string, Statement>();

/** Saves the issue in one statement (PostgreSQL). */
export async function saveIssueInOneStatement(db: Kysely<Database> | Transaction<Database>, issue: TokenIssue): Promise<IssueOutcome> {
  const spends = spendsOf(issue);
  const touch = grantUseDue(issue.grant, issue.now);
  const refresh = issue.refreshToken !== undefined;
  const key = `${spends}:${touch}:${refresh}`;
  let statement = statements.get(key);
  if (statement === undefined) {
    statement = compose(spends, touch, refresh);
    statements.set(key, statement);
  }
  const { rows } = await db.executeQuery<{ live: boolean; matched: boolean }>(CompiledQuery.raw(statement.text, statement.values(issue)));
  const outcome = rows[0];
  if (!outcome?.live) return 'grant_revoked';
  // `matched`: the spend found its code or token unspent (true when there is nothing to spend).
  return outcome.matched ? 'saved' : 'spent';
}
