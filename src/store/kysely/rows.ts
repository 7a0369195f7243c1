/** Row mappers shared by the Kysely repositories: one place per table shape. */
import type { Selectable } from 'kysely';
import type { AccessToken, AccessTokenFormat, Account, AnyGrant, AuthorizationCode, Client, Grant, Partner, RefreshToken, User } from '../../core/model.js';
import type { WithGrant } from '../../core/ports.js';
import type { AccessTokensTable, AccountsTable, AuthorizationCodesTable, ClientsTable, GrantsTable, PartnersTable, RefreshTokensTable, UsersTable } from './schema.js';

export const list = (text: string): string[] => JSON.parse(text) as string[];
export const spaced = (text: string): string[] => (text === '' ? [] : text.split(' '));

export function toClient(row: Selectable<ClientsTable>): Client {
  return {
    id: row.id,
    name: row.name,
    redirectUris: list(row.redirect_uris),
    scopes: list(row.scopes),
    grantTypes: list(row.grant_types),
    isPublic: row.is_public === 1,
    isLegacy: row.is_legacy === 1,
    accessTokenTtlSeconds: row.access_token_ttl,
    refreshTokenTtlSeconds: row.refresh_token_ttl,
    partnerId: row.partner_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    accessTokenFormat: row.access_token_format === 'jwt' || row.access_token_format === 'opaque' ? (row.access_token_format as AccessTokenFormat) : null,
    isResourceServer: row.is_resource_server === 1,
  };
}

export function toUser(row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    firstName: row.first_name,
    lastName: row.last_name,
    isAdmin: row.is_admin === 1,
    lockedAt: row.locked_at,
    createdAt: row.created_at,
  };
}

export function toAccount(row: Selectable<AccountsTable>): Account {
  return { id: row.id, name: row.name, kind: row.kind, partnerId: row.partner_id, createdAt: row.created_at };
}

export function toPartner(row: Selectable<PartnersTable>): Partner {
  return { id: row.id, name: row.name, partnerPortalId: row.partner_portal_id, createdAt: row.created_at };
}

export const ACCESS_TOKEN_COLUMNS = [
  'token_hash',
  'grant_id',
  'client_id',
  'user_id',
  'account_id',
  'scopes',
  'created_at',
  'expires_at',
  'revoked_at',
  'signing_key_id',
] as const satisfies ReadonlyArray<keyof AccessTokensTable>;

export const REFRESH_TOKEN_COLUMNS = [
  'token_hash',
  'grant_id',
  'client_id',
  'scopes',
  'created_at',
  'expires_at',
  'rotated_at',
  'revoked_at',
] as const satisfies ReadonlyArray<keyof RefreshTokensTable>;

export function fromAccessToken(token: AccessToken): AccessTokensTable {
  return {
    token_hash: token.tokenHash,
    grant_id: token.grantId,
    client_id: token.clientId,
    user_id: token.userId,
    account_id: token.accountId,
    scopes: token.scopes.join(' '),
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    revoked_at: token.revokedAt,
    signing_key_id: token.signingKeyId ?? null,
  };
}

export function fromRefreshToken(token: RefreshToken): RefreshTokensTable {
  return {
    token_hash: token.tokenHash,
    grant_id: token.grantId,
    client_id: token.clientId,
    scopes: token.scopes.join(' '),
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    rotated_at: token.rotatedAt,
    revoked_at: token.revokedAt,
  };
}

/** A grant's columns as the lookups that join it name them (prefixed `g_`, apart from the code's or token's own). */
export const GRANT_AS_G = [
  'g.id as g_id',
  'g.client_id as g_client_id',
  'g.user_id as g_user_id',
  'g.account_id as g_account_id',
  'g.scopes as g_scopes',
  'g.partner_id as g_partner_id',
  'g.created_at as g_created_at',
  'g.last_used_at as g_last_used_at',
  'g.revoked_at as g_revoked_at',
] as const;

type GrantColumns = Pick<Selectable<GrantsTable>, 'id' | 'client_id' | 'user_id' | 'account_id' | 'scopes' | 'partner_id' | 'created_at' | 'last_used_at' | 'revoked_at'>;

export function toAnyGrant(row: GrantColumns): AnyGrant {
  // One literal, not a spread of the common fields: on Node 20, adding keys to a spread's copy
  // misses V8's inline cache every time (about 2 µs), and the copy's readers miss with it.
  const machine = row.user_id === null || row.account_id === null;
  return {
    id: row.id,
    clientId: row.client_id,
    scopes: spaced(row.scopes),
    partnerId: row.partner_id,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
    userId: machine ? null : row.user_id,
    accountId: machine ? null : row.account_id,
  } as AnyGrant;
}

/** A row selected by its user: always a user's connection. */
export function toGrant(row: Selectable<GrantsTable>): Grant {
  const grant = toAnyGrant(row);
  if (grant.userId === null) throw new Error(`grant ${row.id} has no user`);
  return grant;
}

/** A row with its grant's columns, prefixed `g_` (GRANT_AS_G). */
export type WithGrantColumns<Row> = Row & { [K in keyof GrantColumns as `g_${K}`]: GrantColumns[K] };

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
export function revokedWithGrant(own: number | null, grant: number | null): number | null {
  if (own === null) return grant;
  return grant === null ? own : Math.min(own, grant);
}

/** A code's row joined with its grant's (GRANT_AS_G), as the core sees them. */
export function codeWithGrant(row: WithGrantColumns<Selectable<AuthorizationCodesTable>>): WithGrant<AuthorizationCode> {
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

/** An access token's row with its grant's revocation (`g_revoked_at`), as the core sees it. */
export function accessTokenWithGrant(row: Selectable<AccessTokensTable> & { g_revoked_at: number | null }): AccessToken {
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

/** A refresh token's row joined with its grant's (GRANT_AS_G), as the core sees them. */
export function refreshTokenWithGrant(row: WithGrantColumns<Selectable<RefreshTokensTable>>): WithGrant<RefreshToken> {
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

/** Whether a driver's error is a unique or primary key violation (PostgreSQL or SQLite). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
