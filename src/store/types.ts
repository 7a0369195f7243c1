/**
 * The Store: every piece of state Latchkey keeps. One Kysely implementation
 * serves SQLite and PostgreSQL (src/store/kysely/).
 */
import type { AuthorizationRequest } from '../core/authorize.js';
import type { AccessTokenFormat, Account, Client, Grant, Partner, Scope, User } from '../core/model.js';
import type { AttemptCounter } from '../core/lockout.js';
import type { ProtocolStore } from '../core/ports.js';
import type { AdminRepository } from './admin.js';

export interface NewClient {
  name: string;
  redirectUris: string[];
  scopes: string[];
  grantTypes: string[];
  isPublic: boolean;
  isLegacy: boolean;
  accessTokenTtlSeconds?: number | null;
  refreshTokenTtlSeconds?: number | null;
  partnerId?: string | null;
  /** null: the server default. */
  accessTokenFormat?: AccessTokenFormat | null;
  /** May introspect every access token (RFC 7662). */
  isResourceServer?: boolean;
}

export type ClientChanges = Partial<NewClient>;

export interface NewUser {
  email: string;
  passwordHash: string;
  firstName: string;
  lastName: string;
  isAdmin: boolean;
}

export interface Session {
  /** SHA-256 of the cookie value. */
  idHash: string;
  userId: string | null;
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
  authenticatedAt: number | null;
}

/** An authorization request waiting for the user to sign in, choose an account and consent. */
export interface PendingAuthorization {
  id: string;
  /** The browser session it belongs to; another browser cannot continue it. */
  sessionHash: string;
  request: AuthorizationRequest;
  /** The account the user chose, once chosen. */
  accountId: string | null;
  createdAt: number;
  expiresAt: number;
}

export interface AuditEvent {
  type: string;
  actor: string | null;
  ip: string | null;
  subject: string | null;
  detail: Record<string, unknown>;
}

export interface UserWithAccounts extends User {
  accounts: Account[];
}

/** Tables whose rows carry an expires_at and are swept once it has passed. */
export const EXPIRING_TABLES = ['authorization_codes', 'access_tokens', 'refresh_tokens', 'sessions', 'pending_authorizations', 'rate_limits'] as const;
export type ExpiringTable = (typeof EXPIRING_TABLES)[number];

export interface Store extends ProtocolStore, AttemptCounter {
  transaction<T>(work: (tx: Store) => Promise<T>): Promise<T>;
  /** Asks the database a trivial question, for readiness: every other read may be served from a cache. */
  ping(): Promise<void>;
  /** The operator's queries: searches, reports, audit log, admin API tokens (src/store/admin.ts). */
  readonly admin: AdminRepository;

  // Clients
  createClient(client: NewClient, secretHash: string | null, now: number): Promise<Client>;
  listClients(): Promise<Client[]>;
  updateClient(clientId: string, changes: ClientChanges, now: number): Promise<Client | undefined>;
  /** Adds a new secret; existing ones stop working at `oldSecretsExpireAt`. */
  rotateClientSecret(clientId: string, secretHash: string, now: number, oldSecretsExpireAt: number): Promise<void>;

  // Scopes
  upsertScope(scope: Scope): Promise<void>;
  /** Adds the scope unless it exists (keeps an operator's edited description). */
  addScopeIfMissing(scope: Scope): Promise<void>;

  // Partners
  createPartner(partner: { name: string; partnerPortalId: string }, now: number): Promise<Partner>;
  listPartners(): Promise<Partner[]>;

  // Connections
  /** Marks a grant's connection confirmed by the partner (401GO's connection success). */
  confirmGrant(grantId: string, now: number): Promise<void>;
  listGrantsOfUser(userId: string): Promise<Array<Grant & { confirmedAt: number | null }>>;

  // Users and accounts
  createUser(user: NewUser, now: number): Promise<User>;
  findUserByEmail(email: string): Promise<User | undefined>;
  findUser(userId: string): Promise<User | undefined>;
  countUsers(): Promise<number>;
  createAccount(account: { name: string; kind: string; partnerId: string | null }, now: number): Promise<Account>;
  addMembership(userId: string, accountId: string, role: string, now: number): Promise<void>;
  listAccountsOfUser(userId: string): Promise<Account[]>;
  findAccount(accountId: string): Promise<Account | undefined>;
  // Browser sessions
  createSession(session: Session): Promise<void>;
  findSession(idHash: string, now: number): Promise<Session | undefined>;
  deleteSession(idHash: string): Promise<void>;
  /** Moves authorizations in progress to a replacement session (after sign-in). */
  rebindPendingAuthorizations(fromSessionHash: string, toSessionHash: string): Promise<void>;

  // Authorization requests in progress
  savePendingAuthorization(pending: PendingAuthorization): Promise<void>;
  findPendingAuthorization(id: string, now: number): Promise<PendingAuthorization | undefined>;
  chooseAccount(id: string, accountId: string): Promise<void>;
  /** Deletes it; false if it was already gone (a double submit). */
  deletePendingAuthorization(id: string): Promise<boolean>;

  // Housekeeping
  /** Deletes at most `limit` rows of `table` that expired before `before`; returns how many. */
  deleteExpired(table: ExpiringTable, before: number, limit: number): Promise<number>;

  // Signing keys (the rest is in the core's SigningKeyRepository)
  /** Deletes these keys now and revokes every access token they signed; returns how many tokens. */
  dropSigningKeys(kids: string[], now: number): Promise<number>;

  // Audit trail
  recordAudit(event: AuditEvent, now: number): Promise<void>;

  findPartner(partnerId: string): Promise<Partner | undefined>;

  /** Closes the connection pool. */
  close(): Promise<void>;
}

/** A unique constraint was violated (e.g. an email already registered). */
export class DuplicateError extends Error {
  constructor(readonly what: string) {
    super(`${what} already exists`);
    this.name = 'DuplicateError';
  }
}
