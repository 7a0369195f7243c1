/** Table types for Kysely. Times are epoch milliseconds; flags are 0/1; lists are JSON text. */
import type { Generated } from 'kysely';

export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  first_name: string;
  last_name: string;
  is_admin: number;
  locked_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface PartnersTable {
  id: string;
  name: string;
  partner_portal_id: string;
  created_at: number;
}

export interface AccountsTable {
  id: string;
  name: string;
  kind: string;
  partner_id: string | null;
  created_at: number;
}

export interface MembershipsTable {
  user_id: string;
  account_id: string;
  role: string;
  created_at: number;
}

export interface ScopesTable {
  name: string;
  description: string;
  is_default: number;
}

export interface ClientsTable {
  id: string;
  name: string;
  redirect_uris: string;
  scopes: string;
  grant_types: string;
  is_public: number;
  is_legacy: number;
  access_token_ttl: number | null;
  refresh_token_ttl: number | null;
  partner_id: string | null;
  created_at: number;
  updated_at: number;
  /** 'opaque' | 'jwt'; null: the server default. */
  access_token_format: string | null;
  /** 1: may introspect every access token (RFC 7662). */
  is_resource_server: number;
  /** Set when an operator destroyed the client: a tombstone, with no secret and no live grant. */
  destroyed_at: number | null;
}

export interface ClientSecretsTable {
  id: string;
  client_id: string;
  secret_hash: string;
  created_at: number;
  expires_at: number | null;
}

export interface GrantsTable {
  id: string;
  client_id: string;
  /** Null (with account_id) for a client's own machine connection. */
  user_id: string | null;
  account_id: string | null;
  scopes: string;
  partner_id: string | null;
  created_at: number;
  updated_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  revoked_reason: string | null;
  /** When the partner confirmed the connection (401GO's connection success). */
  confirmed_at: number | null;
}

export interface AuthorizationCodesTable {
  code_hash: string;
  grant_id: string;
  client_id: string;
  redirect_uri: string | null;
  scopes: string;
  code_challenge: string | null;
  code_challenge_method: string | null;
  channel: string;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

export interface AccessTokensTable {
  token_hash: string;
  grant_id: string;
  client_id: string;
  user_id: string | null;
  account_id: string | null;
  scopes: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  /** The kid that signed a JWT access token; null for an opaque one. */
  signing_key_id: string | null;
}

/**
 * Keys that sign JWT access tokens. The private key is stored here, as a JWK:
 * whoever can read this table can mint access tokens (see README).
 */
export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  private_jwk: string;
  created_at: number;
  retired_at: number | null;
}

export interface RefreshTokensTable {
  token_hash: string;
  grant_id: string;
  client_id: string;
  scopes: string;
  created_at: number;
  expires_at: number;
  rotated_at: number | null;
  revoked_at: number | null;
}

export interface SessionsTable {
  id_hash: string;
  user_id: string | null;
  csrf_token: string;
  created_at: number;
  expires_at: number;
  authenticated_at: number | null;
}

export interface PendingAuthorizationsTable {
  id: string;
  session_hash: string;
  request: string;
  account_id: string | null;
  created_at: number;
  expires_at: number;
}

export interface AuditEventsTable {
  id: Generated<number>;
  at: number;
  type: string;
  actor: string | null;
  ip: string | null;
  subject: string | null;
  detail: string;
}

/** Sign-in attempt counters (src/core/lockout.ts), one row per bucket. */
export interface RateLimitsTable {
  bucket: string;
  count: number;
  /** End of the counting window or of the lockout that extended it. */
  expires_at: number;
}

/** Admin API tokens (`lk_adm_...`), stored as SHA-256 hashes. */
export interface AdminTokensTable {
  id: string;
  name: string;
  token_hash: string;
  /** The admin who created it in the console; null when created with the CLI. */
  created_by: string | null;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  last_used_ip: string | null;
  revoked_at: number | null;
}

export interface Database {
  users: UsersTable;
  partners: PartnersTable;
  accounts: AccountsTable;
  memberships: MembershipsTable;
  scopes: ScopesTable;
  clients: ClientsTable;
  client_secrets: ClientSecretsTable;
  grants: GrantsTable;
  authorization_codes: AuthorizationCodesTable;
  access_tokens: AccessTokensTable;
  refresh_tokens: RefreshTokensTable;
  sessions: SessionsTable;
  pending_authorizations: PendingAuthorizationsTable;
  audit_events: AuditEventsTable;
  rate_limits: RateLimitsTable;
  signing_keys: SigningKeysTable;
  admin_tokens: AdminTokensTable;
}
