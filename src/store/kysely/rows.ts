/** Row mappers shared by the Kysely repositories: one place per table shape. */
import type { Selectable } from 'kysely';
import type { AccessToken, AccessTokenFormat, Client, RefreshToken, User } from '../../core/model.js';
import type { AccessTokensTable, ClientsTable, RefreshTokensTable, UsersTable } from './schema.js';

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
