/** Keys that sign JWT access tokens (RFC 9068). */
import type { Selectable } from 'kysely';
import type { SigningKey } from '../../../core/model.js';
import type { SigningKeyRepository } from '../../../core/ports.js';
import type { SigningKeysTable } from '../schema.js';
import { KyselyRepository } from './repository.js';

function toSigningKey(row: Selectable<SigningKeysTable>): SigningKey {
  if (row.alg !== 'ES256') throw new Error(`signing key ${row.kid} has an unsupported alg ${row.alg}`);
  return {
    kid: row.kid,
    alg: row.alg,
    publicJwk: JSON.parse(row.public_jwk) as Record<string, unknown>,
    privateJwk: JSON.parse(row.private_jwk) as Record<string, unknown>,
    createdAt: row.created_at,
    retiredAt: row.retired_at,
  };
}

export class KyselySigningKeyRepository extends KyselyRepository implements SigningKeyRepository {
  async activeSigningKey(): Promise<SigningKey | undefined> {
    const row = await this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where('retired_at', 'is', null)
      .orderBy('created_at', 'desc')
      .orderBy('kid', 'desc')
      .executeTakeFirst();
    return row && toSigningKey(row);
  }

  async insertSigningKey(key: SigningKey): Promise<void> {
    await this.db
      .insertInto('signing_keys')
      .values({
        kid: key.kid,
        alg: key.alg,
        public_jwk: JSON.stringify(key.publicJwk),
        private_jwk: JSON.stringify(key.privateJwk),
        created_at: key.createdAt,
        retired_at: key.retiredAt,
      })
      .execute();
  }

  async retireSigningKeys(keepKid: string, now: number, expectedActiveKid?: string): Promise<boolean> {
    if (expectedActiveKid !== undefined) {
      // The conditional write that makes a scheduled rotation happen once across instances.
      const claimed = await this.db
        .updateTable('signing_keys')
        .set({ retired_at: now })
        .where('kid', '=', expectedActiveKid)
        .where('retired_at', 'is', null)
        .executeTakeFirst();
      if (claimed.numUpdatedRows !== 1n) return false;
    }
    await this.db.updateTable('signing_keys').set({ retired_at: now }).where('kid', '!=', keepKid).where('retired_at', 'is', null).execute();
    return true;
  }

  async listSigningKeys(): Promise<SigningKey[]> {
    const rows = await this.db.selectFrom('signing_keys').selectAll().orderBy('created_at', 'desc').orderBy('kid', 'desc').execute();
    return rows.map(toSigningKey);
  }

  async dropSigningKeys(kids: string[], now: number): Promise<number> {
    if (kids.length === 0) return 0;
    return this.store.transaction(async ({ db }) => {
      const revoked = await db
        .updateTable('access_tokens')
        .set({ revoked_at: now })
        .where('signing_key_id', 'in', kids)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      await db.deleteFrom('signing_keys').where('kid', 'in', kids).execute();
      return Number(revoked.numUpdatedRows);
    });
  }

  async pruneSigningKeys(retiredBefore: number, now: number): Promise<string[]> {
    const rows = await this.db
      .deleteFrom('signing_keys')
      .where('retired_at', 'is not', null)
      .where('retired_at', '<', retiredBefore)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('access_tokens')
              .select('access_tokens.token_hash')
              .whereRef('access_tokens.signing_key_id', '=', 'signing_keys.kid')
              .where('access_tokens.expires_at', '>', now),
          ),
        ),
      )
      .returning('kid')
      .execute();
    return rows.map((row) => row.kid);
  }
}
