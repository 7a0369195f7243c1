/** The periodic sweep of expired rows (src/services/housekeeping.ts). */
import type { ExpiringTable } from '../../types.js';
import { KyselyRepository } from './repository.js';

/** The primary key of each expiring table. */
const EXPIRING_KEYS = {
  authorization_codes: 'code_hash',
  access_tokens: 'token_hash',
  refresh_tokens: 'token_hash',
  sessions: 'id_hash',
  pending_authorizations: 'id',
  rate_limits: 'bucket',
} as const;

export class KyselyExpiredRowRepository extends KyselyRepository {
  async deleteExpired(table: ExpiringTable, before: number, limit: number): Promise<number> {
    const key = EXPIRING_KEYS[table];
    // A bounded batch by primary key, so a large backlog never holds one long lock.
    const result = await this.db
      .deleteFrom(table)
      .where(key, 'in', (eb) => eb.selectFrom(table).select(key).where('expires_at', '<', before).limit(limit))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
