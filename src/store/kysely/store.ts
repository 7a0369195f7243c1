/** The Store on Kysely: one implementation for SQLite and PostgreSQL. */
import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import type { AuthorizationRequest } from '../../core/authorize.js';
import type { AttemptCount } from '../../core/lockout.js';
import type {
  AccessToken,
  Account,
  AnyGrant,
  AuthorizationCode,
  Client,
  Grant,
  MachineGrant,
  Partner,
  RefreshToken,
  Scope,
  SigningKey,
  User,
} from '../../core/model.js';
import type { IssueOutcome, NewGrant, ProtocolStore, TokenIssue, WithGrant } from '../../core/ports.js';
import { newId } from '../../core/secrets.js';
import {
  type AuditEvent,
  type ClientChanges,
  DuplicateError,
  type ExpiringTable,
  type NewClient,
  type NewUser,
  type PendingAuthorization,
  type Session,
  type Store,
} from '../types.js';
import type { AdminRepository } from '../admin.js';
import { KyselyAdminRepository } from './admin.js';
import { GroupCommit } from './group-commit.js';
import { type ChangeListener, CHANGES_CHANNEL } from './pg-changes.js';
import { deepFreeze, ReadCache } from './read-cache.js';
import { prepared, preparedInsert } from './prepared.js';
import type { Dialect } from './migrations/index.js';
import { ACCESS_TOKEN_COLUMNS, fromAccessToken, fromRefreshToken, GRANT_AS_G, REFRESH_TOKEN_COLUMNS, spaced, toClient, toUser } from './rows.js';
import type { AuthorizationCodesTable, ClientsTable, Database, GrantsTable, RefreshTokensTable, SigningKeysTable } from './schema.js';
import { GRANT_USE_RESOLUTION_MS, grantUseDue } from './grant-use.js';
import { exchangeCodeInOneStatement, issueOnMachineGrantInOneStatement, rotateRefreshTokenInOneStatement } from './one-step.js';
import { saveIssueInOneStatement } from './token-issue.js';

type GrantColumns = Pick<Selectable<GrantsTable>, 'id' | 'client_id' | 'user_id' | 'account_id' | 'scopes' | 'partner_id' | 'created_at' | 'last_used_at' | 'revoked_at'>;

function toAnyGrant(row: GrantColumns): AnyGrant {
  const common = {
    id: row.id,
    clientId: row.client_id,
    scopes: spaced(row.scopes),
    partnerId: row.partner_id,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
  if (row.user_id === null || row.account_id === null) return { ...common, userId: null, accountId: null };
  return { ...common, userId: row.user_id, accountId: row.account_id };
}

/** A row selected by its user: always a user's connection. */
function toGrant(row: Selectable<GrantsTable>): Grant {
  const grant = toAnyGrant(row);
  if (grant.userId === null) throw new Error(`grant ${row.id} has no user`);
  return grant;
}

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

/** A joined grant's columns, named `g_*` beside the code's or token's own. */

/** A row with its grant's columns, prefixed `g_` (GRANT_AS_G). */
type WithGrantColumns<Row> = Row & { [K in keyof GrantColumns as `g_${K}`]: GrantColumns[K] };

function joinedGrant(row: WithGrantColumns<unknown>): AnyGrant {
  return toAnyGrant({
    id: row.g_id,
    client_id: row.g_client_id,
    user_id: row.g_user_id,
    account_id: row.g_account_id,
    scopes: row.g_scopes,
    partner_id: row.g_partner_id,
    created_at: row.g_created_at,
    last_used_at: row.g_last_used_at,
    revoked_at: row.g_revoked_at,
  });
}

/**
 * When a token stopped being usable by revocation: its own, or its grant's.
 * revokeGrant writes the grant's row only; a token is revoked through it.
 */
function revokedWithGrant(own: number | null, grant: number | null): number | null {
  if (own === null) return grant;
  return grant === null ? own : Math.min(own, grant);
}

/** A code's row joined with its grant's (GRANT_AS_G), as the core sees them. */
function codeWithGrant(row: WithGrantColumns<Selectable<AuthorizationCodesTable>>): WithGrant<AuthorizationCode> {
  const record: AuthorizationCode = {
    codeHash: row.code_hash,
    grantId: row.grant_id,
    clientId: row.client_id,
    redirectUri: row.redirect_uri,
    scopes: spaced(row.scopes),
    codeChallenge: row.code_challenge,
    codeChallengeMethod: row.code_challenge_method,
    channel: row.channel,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    consumedAt: row.consumed_at,
  };
  return { record, grant: joinedGrant(row) };
}

/** A refresh token's row joined with its grant's (GRANT_AS_G), as the core sees them. */
function refreshTokenWithGrant(row: WithGrantColumns<Selectable<RefreshTokensTable>>): WithGrant<RefreshToken> {
  const record: RefreshToken = {
    tokenHash: row.token_hash,
    grantId: row.grant_id,
    clientId: row.client_id,
    scopes: spaced(row.scopes),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    rotatedAt: row.rotated_at,
    revokedAt: revokedWithGrant(row.revoked_at, row.g_revoked_at),
  };
  return { record, grant: joinedGrant(row) };
}

/** The grant if live, as a subquery: the condition of saveIssue's first write (SQLite). */
function liveGrant(db: Kysely<Database> | Transaction<Database>, grantId: string) {
  return db.selectFrom('grants').select('id').where('id', '=', grantId).where('revoked_at', 'is', null);
}

/**
 * The token endpoint's and the resource guard's queries, compiled once
 * (prepared.ts); every other query is built per call.
 */
const HOT = {
  findClient: prepared(1, (db, id: string) => db.selectFrom('clients').selectAll().where('id', '=', id).where('destroyed_at', 'is', null)),
  findClientWithSecrets: prepared(2, (db, id: string, now: number) =>
    db
      .selectFrom('clients as c')
      .leftJoin('client_secrets as s', (join) =>
        join.onRef('s.client_id', '=', 'c.id').on((eb) => eb.or([eb('s.expires_at', 'is', null), eb('s.expires_at', '>', now)])),
      )
      .selectAll('c')
      .select(['s.secret_hash as s_secret_hash', 's.expires_at as s_expires_at'])
      .where('c.id', '=', id)
      .where('c.destroyed_at', 'is', null),
  ),
  findUser: prepared(1, (db, id: string) => db.selectFrom('users').selectAll().where('id', '=', id)),
  findAccount: prepared(1, (db, id: string) => db.selectFrom('accounts').selectAll().where('id', '=', id)),
  findParties: prepared(3, (db, clientId: string, userId: string | null, accountId: string | null) =>
    db
      .selectFrom('clients as c')
      .leftJoin('users as u', (join) => join.on('u.id', '=', userId as string))
      .leftJoin('accounts as a', (join) => join.on('a.id', '=', accountId as string))
      .selectAll('c')
      .select([
        'u.id as u_id',
        'u.email as u_email',
        'u.password_hash as u_password_hash',
        'u.first_name as u_first_name',
        'u.last_name as u_last_name',
        'u.is_admin as u_is_admin',
        'u.locked_at as u_locked_at',
        'u.created_at as u_created_at',
        'u.updated_at as u_updated_at',
        'a.id as a_id',
        'a.name as a_name',
        'a.kind as a_kind',
        'a.partner_id as a_partner_id',
        'a.created_at as a_created_at',
      ])
      .where('c.id', '=', clientId)
      .where('c.destroyed_at', 'is', null),
  ),
  findGrant: prepared(1, (db, id: string) => db.selectFrom('grants').selectAll().where('id', '=', id)),
  findLiveGrantId: prepared(1, (db, id: string) => liveGrant(db, id)),
  /** A client's one live machine grant (client credentials), if any. */
  findMachineGrant: prepared(1, (db, clientId: string) =>
    db.selectFrom('grants').selectAll().where('client_id', '=', clientId).where('user_id', 'is', null).where('revoked_at', 'is', null),
  ),
  touchGrant: prepared(3, (db, now: number, id: string, before: number) =>
    db
      .updateTable('grants')
      .set({ last_used_at: now })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', before)])),
  ),
  findCode: prepared(1, (db, hash: string) =>
    db.selectFrom('authorization_codes as c').innerJoin('grants as g', 'g.id', 'c.grant_id').selectAll('c').select(GRANT_AS_G).where('c.code_hash', '=', hash),
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
  findAccessToken: prepared(1, (db, hash: string) =>
    db.selectFrom('access_tokens as t').innerJoin('grants as g', 'g.id', 't.grant_id').selectAll('t').select('g.revoked_at as g_revoked_at').where('t.token_hash', '=', hash),
  ),
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

/** The primary key of each expiring table. */
const EXPIRING_KEYS = {
  authorization_codes: 'code_hash',
  access_tokens: 'token_hash',
  refresh_tokens: 'token_hash',
  sessions: 'id_hash',
  pending_authorizations: 'id',
  rate_limits: 'bucket',
} as const;

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * What the process around a store may observe (metrics): every audit event as it
 * is recorded, and the connection pool. Shared by a store and its transactions.
 */
export interface StoreHooks {
  audit: Set<(event: AuditEvent) => void>;
  pool?: () => { total: number; idle: number; waiting: number };
}

export type Parties = Awaited<ReturnType<Store['findParties']>>;

/** A client with its secrets as loaded, for the cache: each secret's hash and when it expires (null: never). */
export interface LoadedClient {
  client: Client;
  secrets: ReadonlyArray<{ hash: string; expiresAt: number | null }>;
}

/** Process-wide caches, shared by a store and its transactions. */
export interface StoreCaches {
  parties: ReadCache<Parties>;
  /** Clients with their secrets (PostgreSQL only, where `changes` tells of other processes' changes). */
  clients?: ReadCache<LoadedClient> | undefined;
  /** Tells this process of changes committed by others (PostgreSQL). */
  changes?: ChangeListener | undefined;
}

/** How long loaded parties are reused when the opener does not say. */
export const DEFAULT_PARTIES_CACHE_MS = 5_000;

/** How long a client and its secrets are reused when the opener does not say (PostgreSQL). */
export const DEFAULT_CLIENT_CACHE_MS = 30_000;

/** Empties every cache of this process: after a change here, or one another process told of (pg-changes.ts). */
export function emptyCaches(caches: StoreCaches): void {
  caches.parties.invalidate();
  caches.clients?.invalidate();
}

/** `NOTIFY` for pg-changes.ts, compiled once. */
const NOTIFY_CHANGE = sql`select pg_notify(${CHANGES_CHANNEL}, '')`;

export class KyselyStore implements Store {
  /** SQLite's transactions, batched into shared commits (see group-commit.ts). */
  private readonly groupCommit: GroupCommit<KyselyStore> | undefined;

  /**
   * The token endpoint's lookup and writes in one statement (one-step.ts), on
   * PostgreSQL only, where each is a round trip: SQLite answers both within
   * the process, and a step would make every code or token presented, unknown
   * ones included, a write transaction.
   */
  readonly exchangeCode: ProtocolStore['exchangeCode'];
  readonly rotateRefreshToken: ProtocolStore['rotateRefreshToken'];
  readonly issueOnMachineGrant: ProtocolStore['issueOnMachineGrant'];

  constructor(
    readonly db: Kysely<Database> | Transaction<Database>,
    readonly dialect: Dialect,
    readonly hooks: StoreHooks = { audit: new Set() },
    readonly caches: StoreCaches = { parties: new ReadCache(DEFAULT_PARTIES_CACHE_MS) },
  ) {
    if (dialect === 'sqlite' && !db.isTransaction) {
      this.groupCommit = new GroupCommit(db as Kysely<Database>, (trx) => new KyselyStore(trx, dialect, hooks, caches));
    }
    if (dialect === 'postgres') {
      this.exchangeCode = async (exchange) => {
        const row = await exchangeCodeInOneStatement<WithGrantColumns<Selectable<AuthorizationCodesTable>>>(this.db, exchange);
        return row && { ...codeWithGrant(row), saved: row.saved };
      };
      this.rotateRefreshToken = async (rotation) => {
        const row = await rotateRefreshTokenInOneStatement<WithGrantColumns<Selectable<RefreshTokensTable>>>(this.db, rotation);
        return row && { ...refreshTokenWithGrant(row), saved: row.saved };
      };
      this.issueOnMachineGrant = async (issue) => {
        const row = await issueOnMachineGrantInOneStatement<Selectable<GrantsTable>>(this.db, issue);
        return row && (toAnyGrant(row) as MachineGrant);
      };
    }
  }

  async transaction<T>(work: (tx: Store) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return work(this);
    return this.afterCommit(() =>
      this.groupCommit ? this.groupCommit.run(work) : this.db.transaction().execute((trx) => work(new KyselyStore(trx, this.dialect, this.hooks, this.caches))),
    );
  }

  /**
   * Runs a transaction; if it emptied the caches, empties them again once
   * committed: a lookup between the change and the commit read the old rows.
   */
  async afterCommit<T>(run: () => Promise<T>): Promise<T> {
    const { parties } = this.caches;
    const generation = parties.generation;
    try {
      return await run();
    } finally {
      if (parties.generation !== generation) emptyCaches(this.caches);
    }
  }

  /**
   * After a change to a client, its secrets, a user or an account: empties
   * this process's caches and, on PostgreSQL, tells the other processes
   * (pg-changes.ts). Call it in the change's transaction (or pass that
   * transaction): the others then hear of it as it commits, and a change is
   * never committed without its notification.
   */
  async rowsChanged(db: Kysely<Database> | Transaction<Database> = this.db): Promise<void> {
    emptyCaches(this.caches);
    if (this.dialect === 'postgres') await NOTIFY_CHANGE.execute(db);
  }

  /** Calls `listener` with each audit event recorded from now on; returns the unsubscribe. */
  onAudit(listener: (event: AuditEvent) => void): () => void {
    this.hooks.audit.add(listener);
    return () => this.hooks.audit.delete(listener);
  }

  async close(): Promise<void> {
    if (this.db.isTransaction) return;
    await this.caches.changes?.close();
    await (this.db as Kysely<Database>).destroy();
  }

  /** The operator's queries (admin console, admin API, CLI), in this store's transaction if any. */
  get admin(): AdminRepository {
    return new KyselyAdminRepository(this.db, this.dialect, this);
  }

  // ---- Clients ---------------------------------------------------------------

  async findClient(clientId: string): Promise<Client | undefined> {
    const row = (await HOT.findClient.execute(this.db, this.dialect, clientId)).rows[0];
    return row && toClient(row);
  }

  /**
   * On PostgreSQL, a client and its secrets are reused once loaded: client
   * authentication precedes every token request, and the lookup was one of a
   * refresh's three round trips. A change made through any process empties
   * the cache of every other as it commits (pg-changes.ts); while this process
   * is not listening for those, nothing is served from it. So a secret rotated
   * out, or a client destroyed, stops working everywhere within the
   * notification's delivery, not the cache's lifetime; the lifetime bounds only
   * a change written to the database by hand, or a listener cut off without a
   * word. Each secret's expiry is checked at `now`, cached or not. SQLite has
   * no such notifications, and its lookup is local: it is not cached there.
   */
  async findClientWithSecrets(clientId: string, now: number): Promise<{ client: Client; secretHashes: string[] } | undefined> {
    const { clients, changes } = this.caches;
    let loaded: LoadedClient | undefined;
    // Inside a transaction, reads see the transaction's own writes: no cache.
    if (clients === undefined || this.db.isTransaction) {
      loaded = await this.loadClient(clientId, now);
    } else {
      changes?.start();
      loaded = clients.get(clientId);
      if (loaded === undefined) {
        const generation = clients.generation;
        loaded = await this.loadClient(clientId, now);
        // Shared by requests, so frozen against a caller's edits.
        if (loaded) clients.set(clientId, deepFreeze(loaded), generation);
      }
    }
    if (!loaded) return undefined;
    return { client: loaded.client, secretHashes: loaded.secrets.flatMap((secret) => (secret.expiresAt === null || secret.expiresAt > now ? [secret.hash] : [])) };
  }

  private async loadClient(clientId: string, now: number): Promise<LoadedClient | undefined> {
    // One row per secret valid at `now` (one with a null hash when there is none).
    const { rows } = await HOT.findClientWithSecrets.execute(this.db, this.dialect, clientId, now);
    const first = rows[0];
    if (!first) return undefined;
    return {
      client: toClient(first),
      secrets: rows.flatMap((row) => (row.s_secret_hash === null ? [] : [{ hash: row.s_secret_hash, expiresAt: row.s_expires_at }])),
    };
  }

  async createClient(client: NewClient, secretHash: string | null, now: number): Promise<Client> {
    const id = newId('lkc_');
    await this.transaction(async (tx) => {
      const db = (tx as KyselyStore).db;
      await db
        .insertInto('clients')
        .values({
          id,
          name: client.name,
          redirect_uris: JSON.stringify(client.redirectUris),
          scopes: JSON.stringify(client.scopes),
          grant_types: JSON.stringify(client.grantTypes),
          is_public: client.isPublic ? 1 : 0,
          is_legacy: client.isLegacy ? 1 : 0,
          access_token_ttl: client.accessTokenTtlSeconds ?? null,
          refresh_token_ttl: client.refreshTokenTtlSeconds ?? null,
          partner_id: client.partnerId ?? null,
          created_at: now,
          updated_at: now,
          access_token_format: client.accessTokenFormat ?? null,
          is_resource_server: client.isResourceServer ? 1 : 0,
        })
        .execute();
      if (secretHash !== null) {
        await db
          .insertInto('client_secrets')
          .values({ id: newId('cs_'), client_id: id, secret_hash: secretHash, created_at: now, expires_at: null })
          .execute();
      }
    });
    const created = await this.findClient(id);
    if (!created) throw new Error('client vanished after insert');
    return created;
  }

  async listClients(): Promise<Client[]> {
    const rows = await this.db.selectFrom('clients').selectAll().where('destroyed_at', 'is', null).orderBy('created_at').orderBy('id').execute();
    return rows.map(toClient);
  }

  async updateClient(clientId: string, changes: ClientChanges, now: number): Promise<Client | undefined> {
    const values: Partial<ClientsTable> = { updated_at: now };
    if (changes.name !== undefined) values.name = changes.name;
    if (changes.redirectUris !== undefined) values.redirect_uris = JSON.stringify(changes.redirectUris);
    if (changes.scopes !== undefined) values.scopes = JSON.stringify(changes.scopes);
    if (changes.grantTypes !== undefined) values.grant_types = JSON.stringify(changes.grantTypes);
    if (changes.isPublic !== undefined) values.is_public = changes.isPublic ? 1 : 0;
    if (changes.isLegacy !== undefined) values.is_legacy = changes.isLegacy ? 1 : 0;
    if (changes.accessTokenTtlSeconds !== undefined) values.access_token_ttl = changes.accessTokenTtlSeconds;
    if (changes.refreshTokenTtlSeconds !== undefined) values.refresh_token_ttl = changes.refreshTokenTtlSeconds;
    if (changes.partnerId !== undefined) values.partner_id = changes.partnerId;
    if (changes.accessTokenFormat !== undefined) values.access_token_format = changes.accessTokenFormat;
    if (changes.isResourceServer !== undefined) values.is_resource_server = changes.isResourceServer ? 1 : 0;
    // The change and its notification commit together (rowsChanged).
    const updated = await this.transaction(async (tx) => {
      const { db } = tx as KyselyStore;
      const result = await db.updateTable('clients').set(values).where('id', '=', clientId).where('destroyed_at', 'is', null).executeTakeFirst();
      await (tx as KyselyStore).rowsChanged();
      return result.numUpdatedRows > 0n;
    });
    if (!updated) return undefined;
    return this.findClient(clientId);
  }

  async rotateClientSecret(clientId: string, secretHash: string, now: number, oldSecretsExpireAt: number): Promise<void> {
    await this.transaction(async (tx) => {
      const db = (tx as KyselyStore).db;
      await db
        .updateTable('client_secrets')
        .set({ expires_at: oldSecretsExpireAt })
        .where('client_id', '=', clientId)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', oldSecretsExpireAt)]))
        .execute();
      await db
        .insertInto('client_secrets')
        .values({ id: newId('cs_'), client_id: clientId, secret_hash: secretHash, created_at: now, expires_at: null })
        .execute();
      await (tx as KyselyStore).rowsChanged();
    });
  }

  // ---- Scopes ----------------------------------------------------------------

  async listScopes(): Promise<Scope[]> {
    const rows = await this.db.selectFrom('scopes').selectAll().orderBy('name').execute();
    return rows.map((row) => ({ name: row.name, description: row.description, isDefault: row.is_default === 1 }));
  }

  async upsertScope(scope: Scope): Promise<void> {
    await this.db
      .insertInto('scopes')
      .values({ name: scope.name, description: scope.description, is_default: scope.isDefault ? 1 : 0 })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({ description: scope.description, is_default: scope.isDefault ? 1 : 0 }),
      )
      .execute();
  }

  async addScopeIfMissing(scope: Scope): Promise<void> {
    await this.db
      .insertInto('scopes')
      .values({ name: scope.name, description: scope.description, is_default: scope.isDefault ? 1 : 0 })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  }

  // ---- Partners --------------------------------------------------------------

  async createPartner(partner: { name: string; partnerPortalId: string }, now: number): Promise<Partner> {
    const created: Partner = { id: newId('ptn_'), name: partner.name, partnerPortalId: partner.partnerPortalId, createdAt: now };
    try {
      await this.db
        .insertInto('partners')
        .values({ id: created.id, name: created.name, partner_portal_id: created.partnerPortalId, created_at: now })
        .execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError('a partner with this partner_portal_id');
      throw error;
    }
    return created;
  }

  async listPartners(): Promise<Partner[]> {
    const rows = await this.db.selectFrom('partners').selectAll().orderBy('name').execute();
    return rows.map((row) => ({ id: row.id, name: row.name, partnerPortalId: row.partner_portal_id, createdAt: row.created_at }));
  }

  async findPartnerByPortalId(partnerPortalId: string): Promise<Partner | undefined> {
    const row = await this.db.selectFrom('partners').selectAll().where('partner_portal_id', '=', partnerPortalId).executeTakeFirst();
    return row && { id: row.id, name: row.name, partnerPortalId: row.partner_portal_id, createdAt: row.created_at };
  }

  async linkAccountToPartner(accountId: string, partnerId: string): Promise<void> {
    await this.transaction(async (tx) => {
      await (tx as KyselyStore).db.updateTable('accounts').set({ partner_id: partnerId }).where('id', '=', accountId).where('partner_id', 'is', null).execute();
      await (tx as KyselyStore).rowsChanged();
    });
  }

  // ---- Users and accounts ----------------------------------------------------

  async createUser(user: NewUser, now: number): Promise<User> {
    const row = {
      id: newId('usr_'),
      email: user.email.toLowerCase(),
      password_hash: user.passwordHash,
      first_name: user.firstName,
      last_name: user.lastName,
      is_admin: user.isAdmin ? 1 : 0,
      locked_at: null,
      created_at: now,
      updated_at: now,
    };
    try {
      await this.db.insertInto('users').values(row).execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError('a user with this email');
      throw error;
    }
    return toUser(row);
  }

  async findUserByEmail(email: string): Promise<User | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('email', '=', email.toLowerCase())
      .executeTakeFirst();
    return row && toUser(row);
  }

  async findUser(userId: string): Promise<User | undefined> {
    const row = (await HOT.findUser.execute(this.db, this.dialect, userId)).rows[0];
    return row && toUser(row);
  }

  async countUsers(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async createAccount(account: { name: string; kind: string; partnerId: string | null }, now: number): Promise<Account> {
    const created: Account = { id: newId('acc_'), name: account.name, kind: account.kind, partnerId: account.partnerId, createdAt: now };
    await this.db
      .insertInto('accounts')
      .values({ id: created.id, name: created.name, kind: created.kind, partner_id: created.partnerId, created_at: now })
      .execute();
    return created;
  }

  async addMembership(userId: string, accountId: string, role: string, now: number): Promise<void> {
    await this.db
      .insertInto('memberships')
      .values({ user_id: userId, account_id: accountId, role, created_at: now })
      .onConflict((oc) => oc.columns(['user_id', 'account_id']).doNothing())
      .execute();
  }

  async listAccountsOfUser(userId: string): Promise<Account[]> {
    const rows = await this.db
      .selectFrom('accounts')
      .innerJoin('memberships', 'memberships.account_id', 'accounts.id')
      .selectAll('accounts')
      .where('memberships.user_id', '=', userId)
      .orderBy('accounts.name')
      .orderBy('accounts.id')
      .execute();
    return rows.map((row) => ({ id: row.id, name: row.name, kind: row.kind, partnerId: row.partner_id, createdAt: row.created_at }));
  }

  /**
   * The client, user and account behind an access token, reused for the
   * cache's lifetime once loaded: a guarded route that loads them (`/api/me`)
   * would otherwise join three tables on every call, which costs more than the
   * rest of a JWT bearer check (measured: about 40% of the request).
   *
   * What it may serve stale: changes made through this process (a client
   * updated or destroyed, a user locked, an account linked to a partner) empty
   * it as they commit; on PostgreSQL so do other processes' (pg-changes.ts).
   * Otherwise (SQLite's other processes, the CLI beside the server) a change
   * arrives within the lifetime. Token validity is not cached: an opaque token
   * is still looked up on every request, so revocation stays immediate; a
   * destroyed client's tokens are revoked with it.
   */
  async findParties(ids: { clientId: string; userId: string | null; accountId: string | null }): Promise<Parties> {
    const { parties } = this.caches;
    // Inside a transaction, reads see the transaction's own writes: no cache.
    if (this.db.isTransaction || !parties.enabled) return this.loadParties(ids);
    this.caches.changes?.start();
    const key = `${ids.clientId}\u0000${ids.userId ?? ''}\u0000${ids.accountId ?? ''}`;
    const cached = parties.get(key);
    if (cached !== undefined) return cached;
    const generation = parties.generation;
    const found = await this.loadParties(ids);
    // Only a complete answer is kept; shared by requests, so frozen against a handler's edits.
    if (found.client && found.user !== undefined && found.account !== undefined) parties.set(key, deepFreeze(found), generation);
    return found;
  }

  private async loadParties(ids: { clientId: string; userId: string | null; accountId: string | null }): Promise<Parties> {
    const row = (await HOT.findParties.execute(this.db, this.dialect, ids.clientId, ids.userId, ids.accountId)).rows[0];
    if (!row) {
      return { client: undefined, user: ids.userId === null ? null : undefined, account: ids.accountId === null ? null : undefined };
    }
    const user =
      row.u_id === null
        ? undefined
        : toUser({
            id: row.u_id,
            email: row.u_email as string,
            password_hash: row.u_password_hash as string,
            first_name: row.u_first_name as string,
            last_name: row.u_last_name as string,
            is_admin: row.u_is_admin as number,
            locked_at: row.u_locked_at,
            created_at: row.u_created_at as number,
            updated_at: row.u_updated_at as number,
          });
    const account =
      row.a_id === null
        ? undefined
        : { id: row.a_id, name: row.a_name as string, kind: row.a_kind as string, partnerId: row.a_partner_id, createdAt: row.a_created_at as number };
    return {
      client: toClient(row),
      user: ids.userId === null ? null : user,
      account: ids.accountId === null ? null : account,
    };
  }

  async findAccount(accountId: string): Promise<Account | undefined> {
    const row = (await HOT.findAccount.execute(this.db, this.dialect, accountId)).rows[0];
    return row && { id: row.id, name: row.name, kind: row.kind, partnerId: row.partner_id, createdAt: row.created_at };
  }

  // ---- Grants ----------------------------------------------------------------

  async findGrant(grantId: string): Promise<AnyGrant | undefined> {
    const row = (await HOT.findGrant.execute(this.db, this.dialect, grantId)).rows[0];
    return row && toAnyGrant(row);
  }

  async saveMachineGrant(grant: { clientId: string; scopes: string[]; partnerId: string | null }, now: number): Promise<MachineGrant> {
    // Every request but a client's first (or its first with a new scope): one read, nothing to write.
    const live = (await HOT.findMachineGrant.execute(this.db, this.dialect, grant.clientId)).rows[0];
    if (live) {
      const known = spaced(live.scopes);
      if (grant.scopes.every((scope) => known.includes(scope))) return toAnyGrant(live) as MachineGrant;
    }
    return this.transaction((tx) => (tx as KyselyStore).createOrWidenMachineGrant(grant, now));
  }

  private async createOrWidenMachineGrant(grant: { clientId: string; scopes: string[]; partnerId: string | null }, now: number): Promise<MachineGrant> {
    const findLive = async () => (await HOT.findMachineGrant.execute(this.db, this.dialect, grant.clientId)).rows[0];
    const addScopes = async (existing: Selectable<GrantsTable>): Promise<MachineGrant> => {
      const known = spaced(existing.scopes);
      const scopes = [...new Set([...known, ...grant.scopes])];
      if (scopes.length !== known.length) {
        await this.db.updateTable('grants').set({ scopes: scopes.join(' '), updated_at: now }).where('id', '=', existing.id).execute();
      }
      return { ...(toAnyGrant(existing) as MachineGrant), scopes };
    };
    const existing = await findLive();
    if (existing) return addScopes(existing);
    const row = {
      id: newId('grt_'),
      client_id: grant.clientId,
      user_id: null,
      account_id: null,
      scopes: grant.scopes.join(' '),
      partner_id: grant.partnerId,
      created_at: now,
      updated_at: now,
      last_used_at: null,
      revoked_at: null,
      revoked_reason: null,
      confirmed_at: null,
    };
    // The unique index grants_machine keeps one live machine grant per client: when
    // another instance created it first, nothing is inserted and its grant is used.
    const inserted = await this.db
      .insertInto('grants')
      .values(row)
      .onConflict((oc) => oc.column('client_id').where('user_id', 'is', null).where('revoked_at', 'is', null).doNothing())
      .executeTakeFirst();
    if (inserted.numInsertedOrUpdatedRows === 1n) return toAnyGrant(row) as MachineGrant;
    const winner = await findLive();
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
    return this.transaction(async (tx) => {
      const db = (tx as KyselyStore).db;
      const existing = await tx.findActiveGrant(grant.clientId, grant.userId, grant.accountId);
      if (existing) {
        const scopes = [...new Set([...existing.scopes, ...grant.scopes])];
        await db
          .updateTable('grants')
          .set({ scopes: scopes.join(' '), updated_at: now })
          .where('id', '=', existing.id)
          .execute();
        return { ...existing, scopes };
      }
      const row = {
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
      await db.insertInto('grants').values(row).execute();
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
    await this.transaction(async (tx) => {
      const db = (tx as KyselyStore).db;
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

  // ---- Codes -----------------------------------------------------------------

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
    const row = (await HOT.findCode.execute(this.db, this.dialect, codeHash)).rows[0];
    return row && codeWithGrant(row);
  }

  // ---- Tokens ----------------------------------------------------------------

  async insertAccessToken(token: AccessToken): Promise<void> {
    await HOT.insertAccessToken.execute(this.db, this.dialect, fromAccessToken(token));
  }

  async insertRefreshToken(token: RefreshToken): Promise<void> {
    await HOT.insertRefreshToken.execute(this.db, this.dialect, fromRefreshToken(token));
  }

  async saveIssue(issue: TokenIssue): Promise<IssueOutcome> {
    if (this.dialect === 'postgres') return saveIssueInOneStatement(this.db, issue);
    return this.transaction((tx) => (tx as KyselyStore).writeIssue(issue));
  }

  /**
   * saveIssue's statements, in a transaction: on SQLite they cost no round trip,
   * and transactions run one at a time, so a grant the first write found live
   * stays live to the last.
   */
  private async writeIssue({ spends, grant, accessToken, refreshToken, now }: TokenIssue): Promise<IssueOutcome> {
    const live = async () => (await HOT.findLiveGrantId.execute(this.db, this.dialect, grant.id)).rows.length > 0;
    // The first write checks the grant itself (in one statement where it succeeds); why it failed is asked after.
    if (spends !== undefined) {
      const spent =
        'codeHash' in spends
          ? await HOT.consumeCode.execute(this.db, this.dialect, now, spends.codeHash, grant.id)
          : await HOT.retireRefreshToken.execute(this.db, this.dialect, now, spends.refreshTokenHash, grant.id);
      if (spent.numAffectedRows !== 1n) return (await live()) ? 'spent' : 'grant_revoked';
      await this.insertAccessToken(accessToken);
    } else {
      const row = fromAccessToken(accessToken);
      const inserted = await HOT.insertAccessTokenOfLiveGrant.execute(this.db, this.dialect, grant.id, ...ACCESS_TOKEN_COLUMNS.map((column) => row[column]));
      if (inserted.numAffectedRows !== 1n) return 'grant_revoked';
    }
    if (grantUseDue(grant, now)) await HOT.touchGrant.execute(this.db, this.dialect, now, grant.id, now - GRANT_USE_RESOLUTION_MS);
    if (refreshToken !== undefined) await this.insertRefreshToken(refreshToken);
    return 'saved';
  }

  async findAccessToken(tokenHash: string): Promise<AccessToken | undefined> {
    const row = (await HOT.findAccessToken.execute(this.db, this.dialect, tokenHash)).rows[0];
    if (!row) return undefined;
    return {
      tokenHash: row.token_hash,
      grantId: row.grant_id,
      clientId: row.client_id,
      userId: row.user_id,
      accountId: row.account_id,
      scopes: spaced(row.scopes),
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      revokedAt: revokedWithGrant(row.revoked_at, row.g_revoked_at),
      signingKeyId: row.signing_key_id,
    };
  }

  async findRefreshToken(tokenHash: string): Promise<WithGrant<RefreshToken> | undefined> {
    const row = (await HOT.findRefreshToken.execute(this.db, this.dialect, tokenHash)).rows[0];
    return row && refreshTokenWithGrant(row);
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

  // ---- Signing keys ------------------------------------------------------------

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
    return this.transaction(async (tx) => {
      const db = (tx as KyselyStore).db;
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

  // ---- Sessions ----------------------------------------------------------------

  async createSession(session: Session): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values({
        id_hash: session.idHash,
        user_id: session.userId,
        csrf_token: session.csrfToken,
        created_at: session.createdAt,
        expires_at: session.expiresAt,
        authenticated_at: session.authenticatedAt,
      })
      .execute();
  }

  async findSession(idHash: string, now: number): Promise<Session | undefined> {
    const row = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('id_hash', '=', idHash)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      idHash: row.id_hash,
      userId: row.user_id,
      csrfToken: row.csrf_token,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      authenticatedAt: row.authenticated_at,
    };
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }

  async rebindPendingAuthorizations(fromSessionHash: string, toSessionHash: string): Promise<void> {
    await this.db
      .updateTable('pending_authorizations')
      .set({ session_hash: toSessionHash })
      .where('session_hash', '=', fromSessionHash)
      .execute();
  }

  // ---- Pending authorizations -------------------------------------------------

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

  // ---- Housekeeping ----------------------------------------------------------

  async deleteExpired(table: ExpiringTable, before: number, limit: number): Promise<number> {
    const key = EXPIRING_KEYS[table];
    // A bounded batch by primary key, so a large backlog never holds one long lock.
    const result = await this.db
      .deleteFrom(table)
      .where(key, 'in', (eb) => eb.selectFrom(table).select(key).where('expires_at', '<', before).limit(limit))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  // ---- Audit -----------------------------------------------------------------

  async recordAudit(event: AuditEvent, now: number): Promise<void> {
    await this.db
      .insertInto('audit_events')
      .values({
        at: now,
        type: event.type,
        actor: event.actor,
        ip: event.ip,
        subject: event.subject,
        detail: JSON.stringify(event.detail),
      })
      .execute();
    for (const listener of this.hooks.audit) {
      try {
        listener(event);
      } catch {
        // An observer never fails the operation it observes.
      }
    }
  }

  async findPartner(partnerId: string): Promise<Partner | undefined> {
    const row = await this.db.selectFrom('partners').selectAll().where('id', '=', partnerId).executeTakeFirst();
    return row && { id: row.id, name: row.name, partnerPortalId: row.partner_portal_id, createdAt: row.created_at };
  }

  // ---- Sign-in attempt counters (src/core/lockout.ts) -------------------------

  /** One atomic upsert: concurrent attempts on any instance each get their own count. */
  async countAttempt(bucket: string, windowMs: number, now: number): Promise<AttemptCount> {
    const resetAt = now + windowMs;
    const row = await this.db
      .insertInto('rate_limits')
      .values({ bucket, count: 1, expires_at: resetAt })
      .onConflict((oc) =>
        oc.column('bucket').doUpdateSet({
          count: sql<number>`case when rate_limits.expires_at <= ${now} then 1 else rate_limits.count + 1 end`,
          expires_at: sql<number>`case when rate_limits.expires_at <= ${now} then ${resetAt} else rate_limits.expires_at end`,
        }),
      )
      .returning(['count', 'expires_at'])
      .executeTakeFirstOrThrow();
    return { count: Number(row.count), resetAt: Number(row.expires_at) };
  }

  async refundAttempt(bucket: string, now: number): Promise<void> {
    await this.db
      .updateTable('rate_limits')
      .set({ count: sql<number>`count - 1` })
      .where('bucket', '=', bucket)
      .where('count', '>', 0)
      .where('expires_at', '>', now)
      .execute();
  }

  async holdAttempts(bucket: string, until: number): Promise<void> {
    await this.db.updateTable('rate_limits').set({ expires_at: until }).where('bucket', '=', bucket).where('expires_at', '<', until).execute();
  }

  async clearAttempts(bucket: string): Promise<void> {
    await this.db.deleteFrom('rate_limits').where('bucket', '=', bucket).execute();
  }
}
