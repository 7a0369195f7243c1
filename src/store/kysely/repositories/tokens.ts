/** Access and refresh tokens, and the writes of a token response. */
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { AccessToken, MachineGrant, RefreshToken } from '../../../core/model.js';
import type {
  IssueOutcome,
  MachineTokenIssue,
  OneStepResult,
  RefreshRotation,
  TokenIssue,
  TokenRepository,
  WithGrant,
} from '../../../core/ports.js';
import { GRANT_USE_RESOLUTION_MS, grantUseDue } from '../grant-use.js';
import { findByHashes, hashLookup } from '../lookups.js';
import { issueOnMachineGrantsInOneStatement, rotateRefreshTokensInOneStatement } from '../one-step.js';
import { prepared, preparedInsert } from '../prepared.js';
import {
  ACCESS_TOKEN_COLUMNS,
  accessTokenWithGrant,
  fromAccessToken,
  fromRefreshToken,
  GRANT_AS_G,
  REFRESH_TOKEN_COLUMNS,
  refreshTokenWithGrant,
  toAnyGrant,
  type WithGrantColumns,
} from '../rows.js';
import type { AccessTokensTable, Database, GrantsTable, RefreshTokensTable } from '../schema.js';
import { saveIssueInOneStatement } from '../token-issue.js';
import { KyselyRepository } from './repository.js';

const ACCESS_TOKENS_BY_HASH = hashLookup<Selectable<AccessTokensTable> & { g_revoked_at: number | null }>(
  'access_tokens',
  'token_hash',
  'g.revoked_at as g_revoked_at',
  (row) => row.token_hash,
);
const REFRESH_TOKENS_BY_HASH = hashLookup<WithGrantColumns<Selectable<RefreshTokensTable>>>('refresh_tokens', 'token_hash', GRANT_AS_G.join(', '), (row) => row.token_hash);

/** The grant if live, as a subquery: the condition of saveIssue's first write (SQLite). */
function liveGrant(db: Kysely<Database> | Transaction<Database>, grantId: string) {
  return db.selectFrom('grants').select('id').where('id', '=', grantId).where('revoked_at', 'is', null);
}

/** The token endpoint's and the resource guard's queries, compiled once (prepared.ts). */
const HOT = {
  findLiveGrantId: prepared(1, (db, id: string) => liveGrant(db, id)),
  touchGrant: prepared(3, (db, now: number, id: string, before: number) =>
    db
      .updateTable('grants')
      .set({ last_used_at: now })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', before)])),
  ),
  /** Spends the code if unused and its grant live (saveIssue, SQLite). */
  consumeCode: prepared(3, (db, now: number, hash: string, grantId: string) =>
    db
      .updateTable('authorization_codes')
      .set({ consumed_at: now })
      .where('code_hash', '=', hash)
      .where('consumed_at', 'is', null)
      .where(({ exists }) => exists(liveGrant(db, grantId))),
  ),
  /** One token at a time: a store bound to a transaction's lookups; outside one they go in batches (findAccessTokens). */
  findAccessToken: prepared(1, (db, hash: string) =>
    db.selectFrom('access_tokens as t').innerJoin('grants as g', 'g.id', 't.grant_id').selectAll('t').select('g.revoked_at as g_revoked_at').where('t.token_hash', '=', hash),
  ),
  /** As findAccessToken: in a transaction; outside one, findRefreshTokens. */
  findRefreshToken: prepared(1, (db, hash: string) =>
    db.selectFrom('refresh_tokens as t').innerJoin('grants as g', 'g.id', 't.grant_id').selectAll('t').select(GRANT_AS_G).where('t.token_hash', '=', hash),
  ),
  /** Spends the refresh token if current and its grant live (saveIssue, SQLite). */
  retireRefreshToken: prepared(3, (db, now: number, hash: string, grantId: string) =>
    db
      .updateTable('refresh_tokens')
      .set({ rotated_at: now })
      .where('token_hash', '=', hash)
      .where('rotated_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where(({ exists }) => exists(liveGrant(db, grantId))),
  ),
  insertAccessToken: preparedInsert('access_tokens', ACCESS_TOKEN_COLUMNS),
  /** An access token, inserted only if its grant is live (saveIssue with nothing to spend, SQLite). */
  insertAccessTokenOfLiveGrant: prepared(ACCESS_TOKEN_COLUMNS.length + 1, (db, grantId: string, ...values: unknown[]) =>
    db
      .insertInto('access_tokens')
      .columns(ACCESS_TOKEN_COLUMNS)
      .expression(
        db
          .selectNoFrom((eb) => ACCESS_TOKEN_COLUMNS.map((column, index) => eb.val(values[index]).as(column)))
          .where(({ exists }) => exists(liveGrant(db, grantId))) as never,
      ),
  ),
  insertRefreshToken: preparedInsert('refresh_tokens', REFRESH_TOKEN_COLUMNS),
};

export class KyselyTokenRepository extends KyselyRepository implements TokenRepository {
  async insertAccessToken(token: AccessToken): Promise<void> {
    await HOT.insertAccessToken.execute(this.store, fromAccessToken(token));
  }

  async insertRefreshToken(token: RefreshToken): Promise<void> {
    await HOT.insertRefreshToken.execute(this.store, fromRefreshToken(token));
  }

  async saveIssue(issue: TokenIssue): Promise<IssueOutcome> {
    if (this.dialect === 'postgres') return saveIssueInOneStatement(this.db, issue);
    return this.store.transaction((tx) => tx.tokens.writeIssue(issue), { replayable: true });
  }

  /**
   * saveIssue's statements, in a transaction: on SQLite they cost no round trip,
   * and transactions run one at a time, so a grant the first write found live
   * stays live to the last.
   */
  private async writeIssue({ spends, grant, accessToken, refreshToken, now }: TokenIssue): Promise<IssueOutcome> {
    const live = async () => (await HOT.findLiveGrantId.execute(this.store, grant.id)).rows.length > 0;
    // The first write checks the grant itself (in one statement where it succeeds); why it failed is asked after.
    if (spends !== undefined) {
      const spent =
        'codeHash' in spends
          ? await HOT.consumeCode.execute(this.store, now, spends.codeHash, grant.id)
          : await HOT.retireRefreshToken.execute(this.store, now, spends.refreshTokenHash, grant.id);
      if (spent.numAffectedRows !== 1n) return (await live()) ? 'spent' : 'grant_revoked';
      await this.insertAccessToken(accessToken);
    } else {
      const row = fromAccessToken(accessToken);
      const inserted = await HOT.insertAccessTokenOfLiveGrant.execute(this.store, grant.id, ...ACCESS_TOKEN_COLUMNS.map((column) => row[column]));
      if (inserted.numAffectedRows !== 1n) return 'grant_revoked';
    }
    if (grantUseDue(grant, now)) await HOT.touchGrant.execute(this.store, now, grant.id, now - GRANT_USE_RESOLUTION_MS);
    if (refreshToken !== undefined) await this.insertRefreshToken(refreshToken);
    return 'saved';
  }

  /** TokenRepository.rotateRefreshToken of a batch of requests, in one statement (PostgreSQL: one-step.ts). */
  async rotateInOneStatement(rotations: RefreshRotation[]): Promise<(OneStepResult<RefreshToken> | undefined)[]> {
    const rows = await rotateRefreshTokensInOneStatement<WithGrantColumns<Selectable<RefreshTokensTable>>>(this.db, rotations);
    return rows.map((row) => row && { saved: row.saved, ...refreshTokenWithGrant(row) });
  }

  /** TokenRepository.issueOnMachineGrant of a batch of requests, in one statement (PostgreSQL: one-step.ts). */
  async issueOnMachineGrantsInOneStatement(issues: MachineTokenIssue[]): Promise<(MachineGrant | undefined)[]> {
    const rows = await issueOnMachineGrantsInOneStatement<Selectable<GrantsTable>>(this.db, issues);
    return rows.map((row) => row && (toAnyGrant(row) as MachineGrant));
  }

  async findAccessToken(tokenHash: string): Promise<AccessToken | undefined> {
    const row = (await HOT.findAccessToken.execute(this.store, tokenHash)).rows[0];
    return row && accessTokenWithGrant(row);
  }

  /** findAccessToken of a batch of requests, in one statement (lookups.ts). */
  async findAccessTokens(tokenHashes: string[]): Promise<(AccessToken | undefined)[]> {
    const rows = await findByHashes(this.store, ACCESS_TOKENS_BY_HASH, tokenHashes);
    return rows.map((row) => row && accessTokenWithGrant(row));
  }

  async findRefreshToken(tokenHash: string): Promise<WithGrant<RefreshToken> | undefined> {
    const row = (await HOT.findRefreshToken.execute(this.store, tokenHash)).rows[0];
    return row && refreshTokenWithGrant(row);
  }

  /** findRefreshToken of a batch of requests, in one statement (lookups.ts). */
  async findRefreshTokens(tokenHashes: string[]): Promise<(WithGrant<RefreshToken> | undefined)[]> {
    const rows = await findByHashes(this.store, REFRESH_TOKENS_BY_HASH, tokenHashes);
    return rows.map((row) => row && refreshTokenWithGrant(row));
  }

  async revokeAccessToken(tokenHash: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('access_tokens')
      .set({ revoked_at: now })
      .where('token_hash', '=', tokenHash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }
}
