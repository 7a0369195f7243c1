/**
 * The Store on Kysely: one implementation for SQLite and PostgreSQL. This
 * class holds what every domain shares (the connection or transaction, the
 * caches, transactions, change notifications) and answers each domain's
 * queries through that domain's repository (repositories/).
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import pg from 'pg';
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
import type { AuditEvent, ClientChanges, ExpiringTable, NewClient, NewUser, PendingAuthorization, Session, Store } from '../types.js';
import type { AdminRepository } from '../admin.js';
import { DEFAULT_PARTIES_CACHE_MS, emptyCaches, type Parties, type StoreCaches } from './caches.js';
import { GroupCommit } from './group-commit.js';
import type { Dialect } from './migrations/index.js';
import { CHANGES_CHANNEL } from './pg-changes.js';
import { ReadCache } from './read-cache.js';
import { KyselyAdminRepository } from './repositories/admin.js';
import { KyselyAttemptRepository } from './repositories/attempts.js';
import { KyselyAuditRepository } from './repositories/audit.js';
import { KyselyClientRepository } from './repositories/clients.js';
import { KyselyCodeRepository } from './repositories/codes.js';
import { KyselyExpiredRowRepository } from './repositories/expired.js';
import { KyselyGrantRepository } from './repositories/grants.js';
import { KyselyPartnerRepository } from './repositories/partners.js';
import { KyselyPendingAuthorizationRepository } from './repositories/pending-authorizations.js';
import { KyselyScopeRepository } from './repositories/scopes.js';
import { KyselySessionRepository } from './repositories/sessions.js';
import { KyselySigningKeyRepository } from './repositories/signing-keys.js';
import { KyselyTokenRepository } from './repositories/tokens.js';
import { KyselyUserRepository } from './repositories/users.js';
import { MAX_BATCH } from './one-step.js';
import { exchangeCodeInTransaction, rotateRefreshTokenInTransaction } from './sqlite-one-step.js';
import { type BatchStatement, StatementBatch } from './statement-batch.js';
import type { Database } from './schema.js';
import type { ImmediateQueries } from './sqlite-driver.js';
import { TurnBatch } from './turn-batch.js';

/**
 * What the process around a store may observe (metrics): every audit event as it
 * is recorded, and the connection pool. Shared by a store and its transactions.
 */
export interface StoreHooks {
  audit: Set<(event: AuditEvent) => void>;
  pool?: () => { total: number; idle: number; waiting: number };
}

/**
 * How PostgreSQL's one-step statements are batched (statement-batch.ts): up to
 * MAX_BATCH requests a statement, and one statement of each kind running per
 * instance, as SQLite's group commit runs one transaction. In alternated
 * benchmark runs, one running served 3,608-4,436 code exchanges a second
 * against 3,019-3,187 with two (refreshes: no clear difference; four: no
 * better; bench/ANALYSIS.md, fifteenth pass). What a statement waits for is a
 * grant's row lock, which other writers hold for one short statement; one that
 * waits longer than 100 ms (a grant held by a long transaction, a deadlock
 * until PostgreSQL's deadlock_timeout) no longer holds back the instance's
 * other exchanges. Under load a statement takes a few milliseconds.
 */
const ONE_STEP_BATCHES = {
  maxRunning: 1,
  maxSize: MAX_BATCH,
  stalledAfterMs: 100,
  rolledBack: (error: unknown) => error instanceof pg.DatabaseError,
};

/**
 * How PostgreSQL's lookups by hash are batched (lookups.ts): as the one-step
 * statements are, one running at a time. With two, alternated runs served
 * fewer bearer checks (13,997 and 12,592 a second against 15,537 and 14,652)
 * and introspections (bench/ANALYSIS.md, sixteenth pass).
 */
const LOOKUP_BATCHES = ONE_STEP_BATCHES;

/** Lookups by hash, shared by the requests that arrive together (lookups.ts). */
interface HashLookups {
  accessTokens: Pick<StatementBatch<string, AccessToken>, 'run'>;
  refreshTokens: Pick<StatementBatch<string, WithGrant<RefreshToken>>, 'run'>;
  codes: Pick<StatementBatch<string, WithGrant<AuthorizationCode>>, 'run'>;
}

/** The readiness check's question, compiled once. */
const PING = sql`select 1`;

/** `NOTIFY` for pg-changes.ts, compiled once. */
const NOTIFY_CHANGE = sql`select pg_notify(${CHANGES_CHANNEL}, '')`;

export class KyselyStore implements Store {
  /** SQLite's transactions, batched into shared commits (see group-commit.ts). */
  private readonly groupCommit: GroupCommit<KyselyStore> | undefined;
  /** Lookups by hash, outside a transaction (in one, each reads in it). */
  private readonly lookups: HashLookups | undefined;

  readonly clients: KyselyClientRepository;
  readonly scopes: KyselyScopeRepository;
  readonly partners: KyselyPartnerRepository;
  readonly users: KyselyUserRepository;
  readonly grants: KyselyGrantRepository;
  readonly codes: KyselyCodeRepository;
  readonly tokens: KyselyTokenRepository;
  readonly signingKeys: KyselySigningKeyRepository;
  readonly sessions: KyselySessionRepository;
  readonly pendingAuthorizations: KyselyPendingAuthorizationRepository;
  readonly attempts: KyselyAttemptRepository;
  readonly audit: KyselyAuditRepository;
  readonly expiredRows: KyselyExpiredRowRepository;

  /**
   * The token endpoint's lookup and writes in one step: on PostgreSQL one
   * statement (one-step.ts), where each is a round trip; on SQLite the group
   * commit's transaction (sqlite-one-step.ts), which saves the lookup its turn
   * of the event loop and its read transaction. A code or refresh token that
   * is unknown then costs its client a place in a write transaction that
   * writes nothing (its batch's commit and sync are shared), not only a read;
   * the client has authenticated first. issueOnMachineGrant is PostgreSQL's only.
   */
  readonly exchangeCode: ProtocolStore['exchangeCode'];
  readonly rotateRefreshToken: ProtocolStore['rotateRefreshToken'];
  readonly issueOnMachineGrant: ProtocolStore['issueOnMachineGrant'];

  constructor(
    readonly db: Kysely<Database> | Transaction<Database>,
    readonly dialect: Dialect,
    readonly hooks: StoreHooks = { audit: new Set() },
    readonly caches: StoreCaches = { parties: new ReadCache<Parties>(DEFAULT_PARTIES_CACHE_MS) },
    /** SQLite's queries that need not wait, run off Kysely's executor (prepared.ts); its transactions' too. */
    readonly immediate: ImmediateQueries | undefined = undefined,
  ) {
    // Made here, after the fields they read (db, dialect, caches) are set.
    this.clients = new KyselyClientRepository(this);
    this.scopes = new KyselyScopeRepository(this);
    this.partners = new KyselyPartnerRepository(this);
    this.users = new KyselyUserRepository(this);
    this.grants = new KyselyGrantRepository(this);
    this.codes = new KyselyCodeRepository(this);
    this.tokens = new KyselyTokenRepository(this);
    this.signingKeys = new KyselySigningKeyRepository(this);
    this.sessions = new KyselySessionRepository(this);
    this.pendingAuthorizations = new KyselyPendingAuthorizationRepository(this);
    this.attempts = new KyselyAttemptRepository(this);
    this.audit = new KyselyAuditRepository(this);
    this.expiredRows = new KyselyExpiredRowRepository(this);
    if (dialect === 'sqlite') {
      if (!db.isTransaction) {
        this.groupCommit = new GroupCommit(db as Kysely<Database>, (trx) => new KyselyStore(trx, dialect, hooks, caches, immediate), immediate);
      }
      this.exchangeCode = (exchange) => exchangeCodeInTransaction(this, exchange);
      this.rotateRefreshToken = (rotation) => rotateRefreshTokenInTransaction(this, rotation);
    }
    if (dialect === 'postgres') {
      // In a transaction each runs alone, in it; outside one, requests share statements.
      const batched = <Input, Answer>(statement: BatchStatement<Input, Answer>) => {
        if (db.isTransaction) return async (input: Input) => (await statement([input]))[0];
        const batch = new StatementBatch(statement, ONE_STEP_BATCHES);
        return (input: Input) => batch.run(input);
      };
      this.exchangeCode = batched((exchanges) => this.codes.exchangeInOneStatement(exchanges));
      this.rotateRefreshToken = batched((rotations) => this.tokens.rotateInOneStatement(rotations));
      this.issueOnMachineGrant = batched((issues) => this.tokens.issueOnMachineGrantsInOneStatement(issues));
    }
    if (!db.isTransaction) {
      // PostgreSQL's batches form while a statement is out; SQLite's over a turn of the event loop.
      const shared = <Answer>(statement: BatchStatement<string, Answer>) =>
        dialect === 'postgres' ? new StatementBatch(statement, LOOKUP_BATCHES) : new TurnBatch(statement, MAX_BATCH);
      this.lookups = {
        accessTokens: shared((hashes) => this.tokens.findAccessTokens(hashes)),
        refreshTokens: shared((hashes) => this.tokens.findRefreshTokens(hashes)),
        codes: shared((hashes) => this.codes.findCodes(hashes)),
      };
    }
  }

  /**
   * Runs `work` in a transaction, with a store (and repositories) bound to it; in one already, in that one.
   * `replayable`: `work` only reads and writes through `tx`, so on SQLite it may run a second time
   * after its first run is rolled back, and shares a savepoint with others of its kind (group-commit.ts).
   */
  async transaction<T>(work: (tx: KyselyStore) => Promise<T>, { replayable = false }: { replayable?: boolean } = {}): Promise<T> {
    if (this.db.isTransaction) return work(this);
    return this.afterCommit(() =>
      this.groupCommit
        ? this.groupCommit.run(work, replayable)
        : this.db.transaction().execute((trx) => work(new KyselyStore(trx, this.dialect, this.hooks, this.caches, this.immediate))),
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
   * After a change to a client, its secrets, a user, an account or a scope: empties
   * this process's caches and, on PostgreSQL, tells the other processes
   * (pg-changes.ts); on SQLite they read the file's data version instead
   * (sqlite-changes.ts). Call it in the change's transaction (or pass that
   * transaction): the others then hear of it as it commits, and a change is
   * never committed without its notification.
   */
  async rowsChanged(db: Kysely<Database> | Transaction<Database> = this.db): Promise<void> {
    emptyCaches(this.caches);
    if (this.dialect === 'postgres') await NOTIFY_CHANGE.execute(db);
  }

  async ping(): Promise<void> {
    await PING.execute(this.db);
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
    return new KyselyAdminRepository(this);
  }

  // The Store's methods, each answered by its domain's repository.

  findClient(clientId: string): Promise<Client | undefined> {
    return this.clients.findClient(clientId);
  }
  findClientWithSecrets(clientId: string, now: number): Promise<{ client: Client; secretHashes: string[] } | undefined> {
    return this.clients.findClientWithSecrets(clientId, now);
  }
  createClient(client: NewClient, secretHash: string | null, now: number): Promise<Client> {
    return this.clients.createClient(client, secretHash, now);
  }
  listClients(): Promise<Client[]> {
    return this.clients.listClients();
  }
  updateClient(clientId: string, changes: ClientChanges, now: number): Promise<Client | undefined> {
    return this.clients.updateClient(clientId, changes, now);
  }
  rotateClientSecret(clientId: string, secretHash: string, now: number, oldSecretsExpireAt: number): Promise<void> {
    return this.clients.rotateClientSecret(clientId, secretHash, now, oldSecretsExpireAt);
  }

  listScopes(): Promise<readonly Scope[]> {
    return this.scopes.listScopes();
  }
  upsertScope(scope: Scope): Promise<void> {
    return this.scopes.upsertScope(scope);
  }
  addScopeIfMissing(scope: Scope): Promise<void> {
    return this.scopes.addScopeIfMissing(scope);
  }

  createPartner(partner: { name: string; partnerPortalId: string }, now: number): Promise<Partner> {
    return this.partners.createPartner(partner, now);
  }
  listPartners(): Promise<Partner[]> {
    return this.partners.listPartners();
  }
  findPartner(partnerId: string): Promise<Partner | undefined> {
    return this.partners.findPartner(partnerId);
  }
  findPartnerByPortalId(partnerPortalId: string): Promise<Partner | undefined> {
    return this.partners.findPartnerByPortalId(partnerPortalId);
  }
  linkAccountToPartner(accountId: string, partnerId: string): Promise<void> {
    return this.partners.linkAccountToPartner(accountId, partnerId);
  }

  createUser(user: NewUser, now: number): Promise<User> {
    return this.users.createUser(user, now);
  }
  findUserByEmail(email: string): Promise<User | undefined> {
    return this.users.findUserByEmail(email);
  }
  findUser(userId: string): Promise<User | undefined> {
    return this.users.findUser(userId);
  }
  countUsers(): Promise<number> {
    return this.users.countUsers();
  }
  createAccount(account: { name: string; kind: string; partnerId: string | null }, now: number): Promise<Account> {
    return this.users.createAccount(account, now);
  }
  addMembership(userId: string, accountId: string, role: string, now: number): Promise<void> {
    return this.users.addMembership(userId, accountId, role, now);
  }
  listAccountsOfUser(userId: string): Promise<Account[]> {
    return this.users.listAccountsOfUser(userId);
  }
  findAccount(accountId: string): Promise<Account | undefined> {
    return this.users.findAccount(accountId);
  }
  findParties(ids: { clientId: string; userId: string | null; accountId: string | null }): Promise<Parties> {
    return this.users.findParties(ids);
  }

  cachedParties(ids: { clientId: string; userId: string | null; accountId: string | null }): Parties | undefined {
    return this.users.cachedParties(ids);
  }

  findGrant(grantId: string): Promise<AnyGrant | undefined> {
    return this.grants.findGrant(grantId);
  }
  saveMachineGrant(grant: { clientId: string; scopes: string[]; partnerId: string | null }, now: number): Promise<MachineGrant> {
    return this.grants.saveMachineGrant(grant, now);
  }
  findActiveGrant(clientId: string, userId: string, accountId: string): Promise<Grant | undefined> {
    return this.grants.findActiveGrant(clientId, userId, accountId);
  }
  saveGrant(grant: NewGrant, now: number): Promise<Grant> {
    return this.grants.saveGrant(grant, now);
  }
  revokeGrant(grantId: string, now: number, reason: string): Promise<void> {
    return this.grants.revokeGrant(grantId, now, reason);
  }
  confirmGrant(grantId: string, now: number): Promise<void> {
    return this.grants.confirmGrant(grantId, now);
  }
  listGrantsOfUser(userId: string): Promise<Array<Grant & { confirmedAt: number | null }>> {
    return this.grants.listGrantsOfUser(userId);
  }

  insertCode(code: AuthorizationCode): Promise<void> {
    return this.codes.insertCode(code);
  }
  findCode(codeHash: string): Promise<WithGrant<AuthorizationCode> | undefined> {
    return this.lookups ? this.lookups.codes.run(codeHash) : this.codes.findCode(codeHash);
  }

  insertAccessToken(token: AccessToken): Promise<void> {
    return this.tokens.insertAccessToken(token);
  }
  insertRefreshToken(token: RefreshToken): Promise<void> {
    return this.tokens.insertRefreshToken(token);
  }
  saveIssue(issue: TokenIssue): Promise<IssueOutcome> {
    return this.tokens.saveIssue(issue);
  }
  findAccessToken(tokenHash: string): Promise<AccessToken | undefined> {
    return this.lookups ? this.lookups.accessTokens.run(tokenHash) : this.tokens.findAccessToken(tokenHash);
  }
  findRefreshToken(tokenHash: string): Promise<WithGrant<RefreshToken> | undefined> {
    return this.lookups ? this.lookups.refreshTokens.run(tokenHash) : this.tokens.findRefreshToken(tokenHash);
  }
  revokeAccessToken(tokenHash: string, now: number): Promise<boolean> {
    return this.tokens.revokeAccessToken(tokenHash, now);
  }

  activeSigningKey(): Promise<SigningKey | undefined> {
    return this.signingKeys.activeSigningKey();
  }
  insertSigningKey(key: SigningKey): Promise<void> {
    return this.signingKeys.insertSigningKey(key);
  }
  retireSigningKeys(keepKid: string, now: number, expectedActiveKid?: string): Promise<boolean> {
    return this.signingKeys.retireSigningKeys(keepKid, now, expectedActiveKid);
  }
  listSigningKeys(): Promise<SigningKey[]> {
    return this.signingKeys.listSigningKeys();
  }
  dropSigningKeys(kids: string[], now: number): Promise<number> {
    return this.signingKeys.dropSigningKeys(kids, now);
  }
  pruneSigningKeys(retiredBefore: number, now: number): Promise<string[]> {
    return this.signingKeys.pruneSigningKeys(retiredBefore, now);
  }

  createSession(session: Session): Promise<void> {
    return this.sessions.createSession(session);
  }
  findSession(idHash: string, now: number): Promise<Session | undefined> {
    return this.sessions.findSession(idHash, now);
  }
  deleteSession(idHash: string): Promise<void> {
    return this.sessions.deleteSession(idHash);
  }

  savePendingAuthorization(pending: PendingAuthorization): Promise<void> {
    return this.pendingAuthorizations.savePendingAuthorization(pending);
  }
  findPendingAuthorization(id: string, now: number): Promise<PendingAuthorization | undefined> {
    return this.pendingAuthorizations.findPendingAuthorization(id, now);
  }
  chooseAccount(id: string, accountId: string): Promise<void> {
    return this.pendingAuthorizations.chooseAccount(id, accountId);
  }
  deletePendingAuthorization(id: string): Promise<boolean> {
    return this.pendingAuthorizations.deletePendingAuthorization(id);
  }
  rebindPendingAuthorizations(fromSessionHash: string, toSessionHash: string): Promise<void> {
    return this.pendingAuthorizations.rebindPendingAuthorizations(fromSessionHash, toSessionHash);
  }

  countAttempt(bucket: string, windowMs: number, now: number): Promise<AttemptCount> {
    return this.attempts.countAttempt(bucket, windowMs, now);
  }
  refundAttempt(bucket: string, now: number): Promise<void> {
    return this.attempts.refundAttempt(bucket, now);
  }
  holdAttempts(bucket: string, until: number): Promise<void> {
    return this.attempts.holdAttempts(bucket, until);
  }
  clearAttempts(bucket: string): Promise<void> {
    return this.attempts.clearAttempts(bucket);
  }

  recordAudit(event: AuditEvent, now: number): Promise<void> {
    return this.audit.recordAudit(event, now);
  }

  deleteExpired(table: ExpiringTable, before: number, limit: number): Promise<number> {
    return this.expiredRows.deleteExpired(table, before, limit);
  }
}
