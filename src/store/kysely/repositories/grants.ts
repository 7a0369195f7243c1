/** Grants: a user's connections of a client to an account, and each client's own (client credentials). */
import type { Selectable } from 'kysely';
import type { AnyGrant, Grant, MachineGrant } from '../../../core/model.js';
import type { GrantRepository, NewGrant } from '../../../core/ports.js';
import { newId } from '../../../core/secrets.js';
import { prepared } from '../prepared.js';
import { spaced, toAnyGrant, toGrant } from '../rows.js';
import type { GrantsTable } from '../schema.js';
import { KyselyRepository } from './repository.js';

type MachineGrantRequest = { clientId: string; scopes: string[]; partnerId: string | null };

/** A new grant's row: live, never used, unconfirmed. */
function newGrantRow(
  grant: { clientId: string; userId: string | null; accountId: string | null; scopes: string[]; partnerId: string | null },
  now: number,
): GrantsTable {
  return {
    id: newId('grt_'),
    client_id: grant.clientId,
    user_id: grant.userId,
    account_id: grant.accountId,
    scopes: grant.scopes.join(' '),
    partner_id: grant.partnerId,
    created_at: now,
    updated_at: now,
    last_used_at: null,
    revoked_at: null,
    revoked_reason: null,
    confirmed_at: null,
  };
}

/** The token endpoint's lookups, compiled once (prepared.ts). */
const HOT = {
  findGrant: prepared(1, (db, id: string) => db.selectFrom('grants').selectAll().where('id', '=', id)),
  /** A client's one live machine grant (client credentials), if any. */
  findMachineGrant: prepared(1, (db, clientId: string) =>
    db.selectFrom('grants').selectAll().where('client_id', '=', clientId).where('user_id', 'is', null).where('revoked_at', 'is', null),
  ),
};

export class KyselyGrantRepository extends KyselyRepository implements GrantRepository {
  async findGrant(grantId: string): Promise<AnyGrant | undefined> {
    const row = (await HOT.findGrant.execute(this.store, grantId)).rows[0];
    return row && toAnyGrant(row);
  }

  async saveMachineGrant(grant: MachineGrantRequest, now: number): Promise<MachineGrant> {
    // Every request but a client's first (or its first with a new scope): one read, nothing to write.
    const live = await this.findMachineGrant(grant.clientId);
    if (live) {
      const known = spaced(live.scopes);
      if (grant.scopes.every((scope) => known.includes(scope))) return toAnyGrant(live) as MachineGrant;
    }
    return this.store.transaction((tx) => tx.grants.createOrWidenMachineGrant(grant, now), { replayable: true });
  }

  private async findMachineGrant(clientId: string): Promise<Selectable<GrantsTable> | undefined> {
    return (await HOT.findMachineGrant.execute(this.store, clientId)).rows[0];
  }

  /** saveMachineGrant's writes, in its transaction. */
  private async createOrWidenMachineGrant(grant: MachineGrantRequest, now: number): Promise<MachineGrant> {
    const addScopes = async (existing: Selectable<GrantsTable>): Promise<MachineGrant> => {
      const known = spaced(existing.scopes);
      const scopes = [...new Set([...known, ...grant.scopes])];
      if (scopes.length !== known.length) {
        await this.db.updateTable('grants').set({ scopes: scopes.join(' '), updated_at: now }).where('id', '=', existing.id).execute();
      }
      return { ...(toAnyGrant(existing) as MachineGrant), scopes };
    };
    const existing = await this.findMachineGrant(grant.clientId);
    if (existing) return addScopes(existing);
    const row = newGrantRow({ ...grant, userId: null, accountId: null }, now);
    // The unique index grants_machine keeps one live machine grant per client: when
    // another instance created it first, nothing is inserted and its grant is used.
    const inserted = await this.db
      .insertInto('grants')
      .values(row)
      .onConflict((oc) => oc.column('client_id').where('user_id', 'is', null).where('revoked_at', 'is', null).doNothing())
      .executeTakeFirst();
    if (inserted.numInsertedOrUpdatedRows === 1n) return toAnyGrant(row) as MachineGrant;
    const winner = await this.findMachineGrant(grant.clientId);
    if (!winner) throw new Error(`no machine grant for ${grant.clientId} after a conflicting insert`);
    return addScopes(winner);
  }

  async findActiveGrant(clientId: string, userId: string, accountId: string): Promise<Grant | undefined> {
    const row = await this.db
      .selectFrom('grants')
      .selectAll()
      .where('client_id', '=', clientId)
      .where('user_id', '=', userId)
      .where('account_id', '=', accountId)
      .where('revoked_at', 'is', null)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    return row && toGrant(row);
  }

  async saveGrant(grant: NewGrant, now: number): Promise<Grant> {
    return this.store.transaction(async (tx) => {
      const existing = await tx.findActiveGrant(grant.clientId, grant.userId, grant.accountId);
      if (existing) {
        const scopes = [...new Set([...existing.scopes, ...grant.scopes])];
        await tx.db
          .updateTable('grants')
          .set({ scopes: scopes.join(' '), updated_at: now })
          .where('id', '=', existing.id)
          .execute();
        return { ...existing, scopes };
      }
      const row = newGrantRow(grant, now);
      await tx.db.insertInto('grants').values(row).execute();
      return toGrant(row);
    });
  }

  /**
   * The grant's tokens are revoked with it by its row alone: every token lookup
   * joins its grant (findAccessToken, findRefreshToken). The token tables keep
   * no index by grant (migration 0006), which every token written would pay
   * for on a random page; a token written after this commits reads revoked too.
   */
  async revokeGrant(grantId: string, now: number, reason: string): Promise<void> {
    await this.store.transaction(async ({ db }) => {
      await db
        .updateTable('grants')
        .set({ revoked_at: now, revoked_reason: reason, updated_at: now })
        .where('id', '=', grantId)
        .where('revoked_at', 'is', null)
        .execute();
      // Unused codes of the grant become unusable too.
      await db
        .updateTable('authorization_codes')
        .set({ consumed_at: now })
        .where('grant_id', '=', grantId)
        .where('consumed_at', 'is', null)
        .execute();
    });
  }

  async confirmGrant(grantId: string, now: number): Promise<void> {
    await this.db
      .updateTable('grants')
      .set({ confirmed_at: now })
      .where('id', '=', grantId)
      .where('confirmed_at', 'is', null)
      .execute();
  }

  async listGrantsOfUser(userId: string): Promise<Array<Grant & { confirmedAt: number | null }>> {
    const rows = await this.db
      .selectFrom('grants')
      .selectAll()
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map((row) => ({ ...toGrant(row), confirmedAt: row.confirmed_at }));
  }
}
