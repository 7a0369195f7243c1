/**
 * Admin API tokens: `lk_adm_` and 256 random bits, shown once, stored as a
 * SHA-256 hash (like client secrets), named, optionally expiring, revocable,
 * with the time and address of their last use. A token created in the
 * console belongs to its admin and stops working if that user is no longer
 * an admin or is locked.
 */
import { CREDENTIAL_PREFIX, hashCredential, newCredential, newId } from '../core/secrets.js';
import type { AdminToken } from '../store/admin.js';
import type { Store } from '../store/types.js';
import { type Actor, auditEvent, SYSTEM } from './audit.js';
import { NotFoundError, ValidationError } from './errors.js';

export const MAX_TOKEN_DAYS = 3650;

export async function createAdminToken(
  store: Store,
  input: { name: string; expiresInDays?: number | null | undefined },
  now: number,
  options: {
    by?: Actor | undefined;
    /** The admin user the token belongs to (default: the acting console user; a token made with a token inherits its owner). */
    owner?: string | null | undefined;
  } = {},
): Promise<{ token: AdminToken; secret: string }> {
  const fields: Record<string, string> = {};
  const name = input.name.trim();
  if (name === '' || name.length > 100) fields.name = 'name the token (1 to 100 characters), e.g. after the script that uses it';
  const days = input.expiresInDays ?? null;
  if (days !== null && (!Number.isInteger(days) || days < 1 || days > MAX_TOKEN_DAYS)) {
    fields.expires_in_days = `expires_in_days is a whole number of days from 1 to ${MAX_TOKEN_DAYS}, or empty for no expiry`;
  }
  ValidationError.throwIfAny(fields);
  const by = options.by ?? SYSTEM;
  const secret = newCredential('adminToken');
  const token: AdminToken = {
    id: newId('adt_'),
    name,
    // A console user owns the tokens they create; the CLI (a shell on the server) is no user.
    createdBy: options.owner !== undefined ? options.owner : by.actor?.startsWith('usr_') ? by.actor : null,
    createdAt: now,
    expiresAt: days === null ? null : now + days * 86_400_000,
    lastUsedAt: null,
    lastUsedIp: null,
    revokedAt: null,
  };
  await store.transaction(async (tx) => {
    await tx.admin.insertAdminToken(token, hashCredential(secret));
    await tx.recordAudit(auditEvent(by, 'admin_token.created', token.id, { name, expiresAt: token.expiresAt }), now);
  });
  return { token, secret };
}

export function listAdminTokens(store: Store): Promise<AdminToken[]> {
  return store.admin.listAdminTokens();
}

export async function revokeAdminToken(
  store: Store,
  id: string,
  now: number,
  options: { by?: Actor | undefined } = {},
): Promise<{ token: AdminToken; alreadyRevoked: boolean }> {
  const token = await store.admin.findAdminToken(id);
  if (!token) throw new NotFoundError(`no admin token ${id}`);
  if (token.revokedAt !== null) return { token, alreadyRevoked: true };
  await store.transaction(async (tx) => {
    await tx.admin.revokeAdminToken(id, now);
    await tx.recordAudit(auditEvent(options.by ?? SYSTEM, 'admin_token.revoked', id, { name: token.name }), now);
  });
  return { token: { ...token, revokedAt: now }, alreadyRevoked: false };
}

/** Why a presented token was refused; the client is told only that it is invalid. */
export type AdminTokenRefusal = 'malformed' | 'unknown' | 'revoked' | 'expired' | 'owner_not_admin';

/** Checks a presented admin token and records its use; the token, or why it was refused. */
export async function authenticateAdminToken(
  store: Store,
  presented: string,
  now: number,
  ip: string | null,
): Promise<{ token: AdminToken } | { refused: AdminTokenRefusal }> {
  if (!presented.startsWith(CREDENTIAL_PREFIX.adminToken) || presented.length > 200) return { refused: 'malformed' };
  const token = await store.admin.findAdminTokenByHash(hashCredential(presented));
  if (!token) return { refused: 'unknown' };
  if (token.revokedAt !== null) return { refused: 'revoked' };
  if (token.expiresAt !== null && token.expiresAt <= now) return { refused: 'expired' };
  if (token.createdBy !== null) {
    const owner = await store.findUser(token.createdBy);
    if (!owner?.isAdmin || owner.lockedAt !== null) return { refused: 'owner_not_admin' };
  }
  await store.admin.touchAdminToken(token.id, now, ip);
  return { token };
}

export function adminTokenView(token: AdminToken, now: number): Record<string, unknown> {
  const iso = (time: number | null) => (time === null ? null : new Date(time).toISOString());
  return {
    token_id: token.id,
    name: token.name,
    created_by: token.createdBy,
    created_at: iso(token.createdAt),
    expires_at: iso(token.expiresAt),
    last_used_at: iso(token.lastUsedAt),
    last_used_ip: token.lastUsedIp,
    revoked_at: iso(token.revokedAt),
    status: adminTokenStatus(token, now),
  };
}

export function adminTokenStatus(token: AdminToken, now: number): 'active' | 'revoked' | 'expired' {
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt !== null && token.expiresAt <= now) return 'expired';
  return 'active';
}
