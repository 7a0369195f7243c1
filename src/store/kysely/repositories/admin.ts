/** The operator's queries on Kysely (see src/store/admin.ts): one implementation for SQLite and PostgreSQL. */
import { type Expression, type Kysely, type RawBuilder, type Selectable, type SqlBool, sql, type Transaction } from 'kysely';
import type { Client, Partner, User } from '../../../core/model.js';
import type {
  AdminRepository,
  AdminToken,
  AuditQuery,
  ClientRecord,
  ClientSearch,
  DestroyedClient,
  GrantFilter,
  GrantRecord,
  MonthlyCount,
  PartnerAccount,
  PartnerSummary,
  StoredAuditEvent,
  UserSearch,
} from '../../admin.js';
import { DuplicateError } from '../../types.js';
import { isUniqueViolation, spaced, toClient, toPartner, toUser } from '../rows.js';
import type { AdminTokensTable, ClientsTable, Database } from '../schema.js';
import { KyselyRepository } from './repository.js';

type Db = Kysely<Database> | Transaction<Database>;

const count = (value: unknown): number => Number(value ?? 0);

function toClientRecord(row: Selectable<ClientsTable>): ClientRecord {
  return { ...toClient(row), destroyedAt: row.destroyed_at };
}

function toAdminToken(row: Selectable<AdminTokensTable>): AdminToken {
  return {
    id: row.id,
    name: row.name,
    createdBy: row.created_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    lastUsedIp: row.last_used_ip,
    revokedAt: row.revoked_at,
  };
}

/** A LIKE pattern that finds `text` anywhere, with the wildcards in it taken literally. */
function containing(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

export class KyselyAdminRepository extends KyselyRepository implements AdminRepository {
  private atomically<T>(work: (db: Db) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return work(this.db);
    return this.store.afterCommit(() => (this.db as Kysely<Database>).transaction().execute(work));
  }

  /** `lower(column) like '%text%'`, wildcards escaped. */
  private contains(column: string, text: string): RawBuilder<SqlBool> {
    return sql<SqlBool>`lower(${sql.ref(column)}) like ${containing(text)} escape '\\'`;
  }

  /** The UTC calendar month ("2025-03") of an epoch-millisecond column. */
  private month(column: string): RawBuilder<string> {
    return this.dialect === 'postgres'
      ? sql<string>`to_char(to_timestamp(${sql.ref(column)} / 1000.0) at time zone 'UTC', 'YYYY-MM')`
      : sql<string>`strftime('%Y-%m', ${sql.ref(column)} / 1000, 'unixepoch')`;
  }

  // ---- Clients ---------------------------------------------------------------

  async searchClients(search: ClientSearch): Promise<{ clients: Client[]; total: number }> {
    let query = this.db.selectFrom('clients').where('destroyed_at', 'is', null);
    const q = search.q?.trim();
    if (q) query = query.where((eb) => eb.or([eb('id', '=', q), this.contains('name', q) as Expression<SqlBool>]));
    if (search.partnerId) query = query.where('partner_id', '=', search.partnerId);
    const [rows, total] = await Promise.all([
      query.selectAll().orderBy('name').orderBy('id').limit(search.limit).offset(search.offset).execute(),
      query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { clients: rows.map(toClient), total: count(total.n) };
  }

  async findClientRecord(clientId: string): Promise<ClientRecord | undefined> {
    const row = await this.db.selectFrom('clients').selectAll().where('id', '=', clientId).executeTakeFirst();
    return row && toClientRecord(row);
  }

  async activeClientSecrets(clientId: string, now: number): Promise<Array<{ createdAt: number; expiresAt: number | null }>> {
    const rows = await this.db
      .selectFrom('client_secrets')
      .select(['created_at', 'expires_at'])
      .where('client_id', '=', clientId)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map((row) => ({ createdAt: row.created_at, expiresAt: row.expires_at }));
  }

  async countLiveGrants(clientIds: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>(clientIds.map((id) => [id, 0]));
    if (clientIds.length === 0) return counts;
    const rows = await this.db
      .selectFrom('grants')
      .select(['client_id', (eb) => eb.fn.countAll().as('n')])
      .where('client_id', 'in', [...clientIds])
      .where('revoked_at', 'is', null)
      .groupBy('client_id')
      .execute();
    for (const row of rows) counts.set(row.client_id, count(row.n));
    return counts;
  }

  async destroyClient(clientId: string, now: number): Promise<DestroyedClient | undefined> {
    return this.atomically(async (db) => {
      const tombstoned = await db
        .updateTable('clients')
        .set({ destroyed_at: now, updated_at: now })
        .where('id', '=', clientId)
        .where('destroyed_at', 'is', null)
        .executeTakeFirst();
      await this.store.rowsChanged(db);
      if (tombstoned.numUpdatedRows === 0n) return undefined;
      const grants = await db
        .updateTable('grants')
        .set({ revoked_at: now, revoked_reason: 'client_destroyed', updated_at: now })
        .where('client_id', '=', clientId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      // Every token has a grant and reads revoked through it (migration 0006): no token row is written.
      // Unused codes are spent as revokeGrant spends them, found through the grants (an index each).
      await db
        .updateTable('authorization_codes')
        .set({ consumed_at: now })
        .where('grant_id', 'in', (eb) => eb.selectFrom('grants').select('id').where('client_id', '=', clientId))
        .where('consumed_at', 'is', null)
        .execute();
      const secrets = await db.deleteFrom('client_secrets').where('client_id', '=', clientId).executeTakeFirst();
      return {
        grants: Number(grants.numUpdatedRows),
        secrets: Number(secrets.numDeletedRows),
      };
    });
  }

  // ---- Connections -------------------------------------------------------------

  private grantQuery() {
    return this.db
      .selectFrom('grants')
      .leftJoin('clients', 'clients.id', 'grants.client_id')
      .leftJoin('users', 'users.id', 'grants.user_id')
      .leftJoin('accounts', 'accounts.id', 'grants.account_id')
      .select([
        'grants.id',
        'grants.client_id',
        'grants.user_id',
        'grants.account_id',
        'grants.scopes',
        'grants.partner_id',
        'grants.created_at',
        'grants.last_used_at',
        'grants.revoked_at',
        'grants.revoked_reason',
        'clients.name as client_name',
        'clients.destroyed_at as client_destroyed_at',
        'users.email as user_email',
        'accounts.name as account_name',
        'accounts.kind as account_kind',
      ]);
  }

  private static toGrantRecord(row: {
    id: string;
    client_id: string;
    user_id: string | null;
    account_id: string | null;
    scopes: string;
    partner_id: string | null;
    created_at: number;
    last_used_at: number | null;
    revoked_at: number | null;
    revoked_reason: string | null;
    client_name: string | null;
    client_destroyed_at: number | null;
    user_email: string | null;
    account_name: string | null;
    account_kind: string | null;
  }): GrantRecord {
    return {
      id: row.id,
      clientId: row.client_id,
      clientName: row.client_name,
      clientDestroyed: row.client_destroyed_at !== null,
      userId: row.user_id,
      userEmail: row.user_email,
      accountId: row.account_id,
      accountName: row.account_name,
      accountKind: row.account_kind,
      scopes: spaced(row.scopes),
      partnerId: row.partner_id,
      createdAt: row.created_at,
      lastUsedAt: row.last_used_at,
      revokedAt: row.revoked_at,
      revokedReason: row.revoked_reason,
    };
  }

  async listGrants(filter: GrantFilter): Promise<GrantRecord[]> {
    let query = this.grantQuery();
    if (filter.clientId) query = query.where('grants.client_id', '=', filter.clientId);
    if (filter.userId) query = query.where('grants.user_id', '=', filter.userId);
    if (filter.partnerId) query = query.where('grants.partner_id', '=', filter.partnerId).where('grants.user_id', 'is not', null);
    if (filter.from !== undefined) query = query.where('grants.created_at', '>=', filter.from);
    if (filter.to !== undefined) query = query.where('grants.created_at', '<', filter.to);
    if (!filter.includeRevoked) query = query.where('grants.revoked_at', 'is', null);
    const rows = await query
      .orderBy('grants.created_at', 'desc')
      .orderBy('grants.id')
      .limit(filter.limit)
      .offset(filter.offset ?? 0)
      .execute();
    return rows.map(KyselyAdminRepository.toGrantRecord);
  }

  async findGrantRecord(grantId: string): Promise<GrantRecord | undefined> {
    const row = await this.grantQuery().where('grants.id', '=', grantId).executeTakeFirst();
    return row && KyselyAdminRepository.toGrantRecord(row);
  }

  // ---- Partners ----------------------------------------------------------------

  async updatePartner(partnerId: string, changes: { name?: string; partnerPortalId?: string }): Promise<Partner | undefined> {
    const values: { name?: string; partner_portal_id?: string } = {};
    if (changes.name !== undefined) values.name = changes.name;
    if (changes.partnerPortalId !== undefined) values.partner_portal_id = changes.partnerPortalId;
    if (Object.keys(values).length > 0) {
      try {
        await this.db.updateTable('partners').set(values).where('id', '=', partnerId).execute();
      } catch (error) {
        if (isUniqueViolation(error)) throw new DuplicateError('a partner with this partner_portal_id');
        throw error;
      }
    }
    const row = await this.db.selectFrom('partners').selectAll().where('id', '=', partnerId).executeTakeFirst();
    return row && toPartner(row);
  }

  async partnerSummaries(): Promise<PartnerSummary[]> {
    const rows = await this.db
      .selectFrom('partners')
      .selectAll('partners')
      .select((eb) => [
        eb
          .selectFrom('clients')
          .select(eb.fn.countAll().as('n'))
          .whereRef('clients.partner_id', '=', 'partners.id')
          .where('clients.destroyed_at', 'is', null)
          .as('client_count'),
        eb.selectFrom('accounts').select(eb.fn.countAll().as('n')).whereRef('accounts.partner_id', '=', 'partners.id').as('account_count'),
        eb
          .selectFrom('grants')
          .select(eb.fn.countAll().as('n'))
          .whereRef('grants.partner_id', '=', 'partners.id')
          .where('grants.user_id', 'is not', null)
          .as('connection_count'),
      ])
      .orderBy('partners.name')
      .orderBy('partners.id')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      partnerPortalId: row.partner_portal_id,
      createdAt: row.created_at,
      clients: count(row.client_count),
      accounts: count(row.account_count),
      connections: count(row.connection_count),
    }));
  }

  async partnerAccountsPerMonth(partnerId: string, from: number, to: number): Promise<MonthlyCount[]> {
    const month = this.month('accounts.created_at');
    const rows = await this.db
      .selectFrom('accounts')
      .select([month.as('month'), (eb) => eb.fn.countAll().as('n')])
      .where('accounts.partner_id', '=', partnerId)
      .where('accounts.created_at', '>=', from)
      .where('accounts.created_at', '<', to)
      .groupBy(month)
      .orderBy(month)
      .execute();
    return rows.map((row) => ({ month: String(row.month), count: count(row.n) }));
  }

  async partnerConnectionsPerMonth(partnerId: string, from: number, to: number): Promise<MonthlyCount[]> {
    const month = this.month('grants.created_at');
    const rows = await this.db
      .selectFrom('grants')
      .select([month.as('month'), (eb) => eb.fn.countAll().as('n')])
      .where('grants.partner_id', '=', partnerId)
      .where('grants.user_id', 'is not', null)
      .where('grants.created_at', '>=', from)
      .where('grants.created_at', '<', to)
      .groupBy(month)
      .orderBy(month)
      .execute();
    return rows.map((row) => ({ month: String(row.month), count: count(row.n) }));
  }

  async partnerAccounts(partnerId: string, range: { from: number; to: number; limit: number }): Promise<PartnerAccount[]> {
    const rows = await this.db
      .selectFrom('accounts')
      .select(['accounts.id', 'accounts.name', 'accounts.kind', 'accounts.created_at'])
      .select((eb) =>
        eb.selectFrom('memberships').select(eb.fn.countAll().as('n')).whereRef('memberships.account_id', '=', 'accounts.id').as('members'),
      )
      .where('accounts.partner_id', '=', partnerId)
      .where('accounts.created_at', '>=', range.from)
      .where('accounts.created_at', '<', range.to)
      .orderBy('accounts.created_at', 'desc')
      .orderBy('accounts.id')
      .limit(range.limit)
      .execute();
    return rows.map((row) => ({ id: row.id, name: row.name, kind: row.kind, createdAt: row.created_at, members: count(row.members) }));
  }

  // ---- Users -------------------------------------------------------------------

  async searchUsers(search: UserSearch): Promise<{ users: User[]; total: number }> {
    let query = this.db.selectFrom('users');
    const q = search.q?.trim();
    if (q) {
      query = query.where((eb) =>
        eb.or([
          eb('id', '=', q),
          this.contains('email', q) as Expression<SqlBool>,
          this.contains('first_name', q) as Expression<SqlBool>,
          this.contains('last_name', q) as Expression<SqlBool>,
        ]),
      );
    }
    const [rows, total] = await Promise.all([
      query.selectAll().orderBy('email').limit(search.limit).offset(search.offset).execute(),
      query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { users: rows.map(toUser), total: count(total.n) };
  }

  async setUserLocked(userId: string, lockedAt: number | null, now: number): Promise<boolean> {
    return this.atomically(async (db) => {
      const result = await db.updateTable('users').set({ locked_at: lockedAt, updated_at: now }).where('id', '=', userId).executeTakeFirst();
      await this.store.rowsChanged(db);
      return result.numUpdatedRows > 0n;
    });
  }

  async deleteSessionsOfUser(userId: string): Promise<number> {
    const result = await this.db.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  // ---- Audit log -----------------------------------------------------------------

  async listAudit(query: AuditQuery): Promise<StoredAuditEvent[]> {
    let select = this.db.selectFrom('audit_events').selectAll();
    if (query.types && query.types.length > 0) {
      const types = query.types;
      select = select.where((eb) =>
        eb.or(
          types.map((type) =>
            type.endsWith('.') || type.endsWith('*') ? eb('type', 'like', `${type.replace(/\*$/, '')}%`) : eb('type', '=', type),
          ),
        ),
      );
    }
    if (query.actor) select = select.where('actor', '=', query.actor);
    if (query.subject) select = select.where('subject', '=', query.subject);
    if (query.from !== undefined) select = select.where('at', '>=', query.from);
    if (query.to !== undefined) select = select.where('at', '<', query.to);
    if (query.beforeId !== undefined) select = select.where('id', '<', query.beforeId);
    const rows = await select.orderBy('id', 'desc').limit(query.limit).execute();
    return rows.map((row) => ({
      id: Number(row.id),
      at: row.at,
      type: row.type,
      actor: row.actor,
      ip: row.ip,
      subject: row.subject,
      detail: JSON.parse(row.detail) as Record<string, unknown>,
    }));
  }

  async auditTypes(): Promise<string[]> {
    const rows = await this.db.selectFrom('audit_events').select('type').distinct().orderBy('type').execute();
    return rows.map((row) => row.type);
  }

  // ---- Scopes --------------------------------------------------------------------

  async deleteScope(name: string): Promise<boolean> {
    const result = await this.db.deleteFrom('scopes').where('name', '=', name).executeTakeFirst();
    await this.store.rowsChanged();
    return result.numDeletedRows > 0n;
  }

  // ---- Admin API tokens ------------------------------------------------------------

  async insertAdminToken(token: AdminToken, tokenHash: string): Promise<void> {
    await this.db
      .insertInto('admin_tokens')
      .values({
        id: token.id,
        name: token.name,
        token_hash: tokenHash,
        created_by: token.createdBy,
        created_at: token.createdAt,
        expires_at: token.expiresAt,
        last_used_at: token.lastUsedAt,
        last_used_ip: token.lastUsedIp,
        revoked_at: token.revokedAt,
      })
      .execute();
  }

  async listAdminTokens(): Promise<AdminToken[]> {
    const rows = await this.db.selectFrom('admin_tokens').selectAll().orderBy('created_at', 'desc').orderBy('id').execute();
    return rows.map(toAdminToken);
  }

  async findAdminToken(id: string): Promise<AdminToken | undefined> {
    const row = await this.db.selectFrom('admin_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toAdminToken(row);
  }

  async findAdminTokenByHash(tokenHash: string): Promise<AdminToken | undefined> {
    const row = await this.db.selectFrom('admin_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row && toAdminToken(row);
  }

  async touchAdminToken(id: string, now: number, ip: string | null): Promise<void> {
    await this.db
      .updateTable('admin_tokens')
      .set({ last_used_at: now, last_used_ip: ip })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', now - 60_000), eb('last_used_ip', 'is distinct from', ip)]))
      .execute();
  }

  async revokeAdminToken(id: string, now: number): Promise<boolean> {
    const result = await this.db.updateTable('admin_tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
