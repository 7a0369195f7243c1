/**
 * What the operator's tools (admin console, admin API, CLI) read and write
 * beyond the protocol: searches, reports, the audit log, admin API tokens,
 * destroying clients and locking users. Reached as `store.admin`; inside a
 * transaction, `tx.admin` works in that transaction.
 */
import type { Client, Partner, User } from '../core/model.js';
import type { AuditEvent } from './types.js';

/** A client row, destroyed or not (the audit log and reports still name destroyed clients). */
export interface ClientRecord extends Client {
  /** When an operator destroyed it; null for a live client. */
  destroyedAt: number | null;
}

export interface ClientSearch {
  /** Matches the name (case-insensitive, anywhere) or the client id (exactly). */
  q?: string | undefined;
  partnerId?: string | undefined;
  limit: number;
  offset: number;
}

/** What destroying a client took away. */
export interface DestroyedClient {
  /** Connections (grants) revoked; their tokens are revoked with them. */
  grants: number;
  /** Secrets deleted. */
  secrets: number;
}

/** A connection as the operator sees it: with the names behind the ids. */
export interface GrantRecord {
  id: string;
  clientId: string;
  clientName: string | null;
  clientDestroyed: boolean;
  /** Null for a client's own (client credentials) connection. */
  userId: string | null;
  userEmail: string | null;
  accountId: string | null;
  accountName: string | null;
  accountKind: string | null;
  scopes: string[];
  partnerId: string | null;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
  revokedReason: string | null;
}

export interface GrantFilter {
  clientId?: string | undefined;
  userId?: string | undefined;
  partnerId?: string | undefined;
  /** Only connections created at or after this time, and before `to`. */
  from?: number | undefined;
  to?: number | undefined;
  includeRevoked: boolean;
  limit: number;
  offset?: number | undefined;
}

export interface PartnerSummary extends Partner {
  /** Live clients linked to the partner. */
  clients: number;
  /** Accounts created through the partner. */
  accounts: number;
  /** Connections made by the partner's clients, revoked ones included. */
  connections: number;
}

/** Counts per calendar month (UTC), e.g. "2025-03"; months without any are absent. */
export interface MonthlyCount {
  month: string;
  count: number;
}

export interface PartnerAccount {
  id: string;
  name: string;
  kind: string;
  createdAt: number;
  /** Members of the account. */
  members: number;
}

export interface UserSearch {
  /** Matches the email or name (case-insensitive, anywhere) or the user id (exactly). */
  q?: string | undefined;
  limit: number;
  offset: number;
}

export interface AuditQuery {
  /** Event types; a type ending in "." or "*" matches the family, e.g. "client.". */
  types?: string[] | undefined;
  actor?: string | undefined;
  subject?: string | undefined;
  /** Events at or after `from` and before `to` (epoch ms). */
  from?: number | undefined;
  to?: number | undefined;
  /** Events older than this id (the next page, newest first). */
  beforeId?: number | undefined;
  limit: number;
}

export interface StoredAuditEvent extends AuditEvent {
  id: number;
  at: number;
}

export interface AdminToken {
  id: string;
  name: string;
  createdBy: string | null;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  lastUsedIp: string | null;
  revokedAt: number | null;
}

export interface AdminRepository {
  // Clients
  searchClients(search: ClientSearch): Promise<{ clients: Client[]; total: number }>;
  findClientRecord(clientId: string): Promise<ClientRecord | undefined>;
  /** The client's secrets that work at `now` (two during a rotation's overlap), newest first; never the hashes. */
  activeClientSecrets(clientId: string, now: number): Promise<Array<{ createdAt: number; expiresAt: number | null }>>;
  /** Live connections per client, for the given clients. */
  countLiveGrants(clientIds: readonly string[]): Promise<Map<string, number>>;
  /**
   * Destroys the client: revokes every connection, token and unused code it
   * holds, deletes its secrets and keeps a tombstone. Undefined when there is
   * no live client with this id.
   */
  destroyClient(clientId: string, now: number): Promise<DestroyedClient | undefined>;

  // Connections
  listGrants(filter: GrantFilter): Promise<GrantRecord[]>;
  findGrantRecord(grantId: string): Promise<GrantRecord | undefined>;

  // Partners
  updatePartner(partnerId: string, changes: { name?: string; partnerPortalId?: string }): Promise<Partner | undefined>;
  partnerSummaries(): Promise<PartnerSummary[]>;
  /** Accounts created through the partner, per month, within [from, to). */
  partnerAccountsPerMonth(partnerId: string, from: number, to: number): Promise<MonthlyCount[]>;
  /** Connections made by the partner's clients, per month, within [from, to). */
  partnerConnectionsPerMonth(partnerId: string, from: number, to: number): Promise<MonthlyCount[]>;
  partnerAccounts(partnerId: string, range: { from: number; to: number; limit: number }): Promise<PartnerAccount[]>;

  // Users
  searchUsers(search: UserSearch): Promise<{ users: User[]; total: number }>;
  /** Sets or clears users.locked_at; false when there is no such user. */
  setUserLocked(userId: string, lockedAt: number | null, now: number): Promise<boolean>;
  /** Signs the user out everywhere; returns how many sessions ended. */
  deleteSessionsOfUser(userId: string): Promise<number>;

  // Audit log
  listAudit(query: AuditQuery): Promise<StoredAuditEvent[]>;
  /** Every event type recorded so far. */
  auditTypes(): Promise<string[]>;

  // Scopes
  deleteScope(name: string): Promise<boolean>;

  // Admin API tokens
  insertAdminToken(token: AdminToken, tokenHash: string): Promise<void>;
  listAdminTokens(): Promise<AdminToken[]>;
  findAdminToken(id: string): Promise<AdminToken | undefined>;
  findAdminTokenByHash(tokenHash: string): Promise<AdminToken | undefined>;
  /** Records a use; writes at most once a minute per token. */
  touchAdminToken(id: string, now: number, ip: string | null): Promise<void>;
  revokeAdminToken(id: string, now: number): Promise<boolean>;
}
