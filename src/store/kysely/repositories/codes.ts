/** Authorization codes. */
import type { Selectable } from 'kysely';
import type { AuthorizationCode } from '../../../core/model.js';
import type { CodeExchange, CodeRepository, OneStepResult, WithGrant } from '../../../core/ports.js';
import { findByHashes, hashLookup } from '../lookups.js';
import { exchangeCodesInOneStatement } from '../one-step.js';
import { prepared } from '../prepared.js';
import { codeWithGrant, GRANT_AS_G, type WithGrantColumns } from '../rows.js';
import type { AuthorizationCodesTable } from '../schema.js';
import { KyselyRepository } from './repository.js';

/** A code's lookup in a store bound to a transaction, compiled once (prepared.ts); outside one, codes go in batches (findCodes). */
const FIND_CODE = prepared(1, (db, hash: string) =>
  db.selectFrom('authorization_codes as c').innerJoin('grants as g', 'g.id', 'c.grant_id').selectAll('c').select(GRANT_AS_G).where('c.code_hash', '=', hash),
);

const CODES_BY_HASH = hashLookup<WithGrantColumns<Selectable<AuthorizationCodesTable>>>('authorization_codes', 'code_hash', GRANT_AS_G.join(', '), (row) => row.code_hash);

export class KyselyCodeRepository extends KyselyRepository implements CodeRepository {
  async insertCode(code: AuthorizationCode): Promise<void> {
    await this.db
      .insertInto('authorization_codes')
      .values({
        code_hash: code.codeHash,
        grant_id: code.grantId,
        client_id: code.clientId,
        redirect_uri: code.redirectUri,
        scopes: code.scopes.join(' '),
        code_challenge: code.codeChallenge,
        code_challenge_method: code.codeChallengeMethod,
        channel: code.channel,
        created_at: code.createdAt,
        expires_at: code.expiresAt,
        consumed_at: code.consumedAt,
      })
      .execute();
  }

  async findCode(codeHash: string): Promise<WithGrant<AuthorizationCode> | undefined> {
    const row = (await FIND_CODE.execute(this.store, codeHash)).rows[0];
    return row && codeWithGrant(row);
  }

  /** findCode of a batch of requests, in one statement (lookups.ts). */
  async findCodes(codeHashes: string[]): Promise<(WithGrant<AuthorizationCode> | undefined)[]> {
    const rows = await findByHashes(this.store, CODES_BY_HASH, codeHashes);
    return rows.map((row) => row && codeWithGrant(row));
  }

  /** CodeRepository.exchangeCode of a batch of requests, in one statement (PostgreSQL: one-step.ts). */
  async exchangeInOneStatement(exchanges: CodeExchange[]): Promise<(OneStepResult<AuthorizationCode> | undefined)[]> {
    const rows = await exchangeCodesInOneStatement<WithGrantColumns<Selectable<AuthorizationCodesTable>>>(this.db, exchanges);
    return rows.map((row) => row && { saved: row.saved, ...codeWithGrant(row) });
  }
}
