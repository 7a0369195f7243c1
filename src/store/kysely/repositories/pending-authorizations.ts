/** Authorization requests waiting on the browser: for sign-in, an account choice or consent. */
import type { AuthorizationRequest } from '../../../core/authorize.js';
import type { PendingAuthorization } from '../../types.js';
import { KyselyRepository } from './repository.js';

export class KyselyPendingAuthorizationRepository extends KyselyRepository {
  async savePendingAuthorization(pending: PendingAuthorization): Promise<void> {
    await this.db
      .insertInto('pending_authorizations')
      .values({
        id: pending.id,
        session_hash: pending.sessionHash,
        request: JSON.stringify(pending.request),
        account_id: pending.accountId,
        created_at: pending.createdAt,
        expires_at: pending.expiresAt,
      })
      .execute();
  }

  async findPendingAuthorization(id: string, now: number): Promise<PendingAuthorization | undefined> {
    const row = await this.db
      .selectFrom('pending_authorizations')
      .selectAll()
      .where('id', '=', id)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      id: row.id,
      sessionHash: row.session_hash,
      request: JSON.parse(row.request) as AuthorizationRequest,
      accountId: row.account_id,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
    };
  }

  async chooseAccount(id: string, accountId: string): Promise<void> {
    await this.db.updateTable('pending_authorizations').set({ account_id: accountId }).where('id', '=', id).execute();
  }

  async deletePendingAuthorization(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('pending_authorizations').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async rebindPendingAuthorizations(fromSessionHash: string, toSessionHash: string): Promise<void> {
    await this.db
      .updateTable('pending_authorizations')
      .set({ session_hash: toSessionHash })
      .where('session_hash', '=', fromSessionHash)
      .execute();
  }
}
