/** Connections (grants) as the operator manages them: looking one up, revoking it. */
import type { GrantRecord } from '../store/admin.js';
import type { Store } from '../store/types.js';
import { type Actor, auditEvent, SYSTEM } from './audit.js';
import { NotFoundError, ValidationError } from './errors.js';

export async function getConnection(store: Store, grantId: string): Promise<GrantRecord> {
  const grant = await store.admin.findGrantRecord(grantId);
  if (!grant) throw new NotFoundError(`no connection ${grantId}`);
  return grant;
}

/**
 * Revokes a connection: the app loses access to the account at once (every
 * access and refresh token and unused code of the grant). Revoking a revoked
 * connection changes nothing and says so.
 */
export async function revokeConnection(
  store: Store,
  grantId: string,
  now: number,
  options: { by?: Actor | undefined; reason?: string | undefined } = {},
): Promise<{ grant: GrantRecord; alreadyRevoked: boolean }> {
  const reason = options.reason?.trim() || undefined;
  if (reason !== undefined && reason.length > 500) throw ValidationError.field('reason', 'the reason is at most 500 characters');
  const grant = await getConnection(store, grantId);
  if (grant.revokedAt !== null) return { grant, alreadyRevoked: true };
  await store.transaction(async (tx) => {
    await tx.revokeGrant(grant.id, now, 'revoked_by_admin');
    await tx.recordAudit(
      auditEvent(options.by ?? SYSTEM, 'grant.revoked', grant.id, {
        clientId: grant.clientId,
        userId: grant.userId,
        accountId: grant.accountId,
        reason: 'admin_revoked',
        ...(reason ? { note: reason } : {}),
      }),
      now,
    );
  });
  return { grant: { ...grant, revokedAt: now, revokedReason: 'revoked_by_admin' }, alreadyRevoked: false };
}

/** A connection as the CLI and the admin API print it. */
export function connectionView(grant: GrantRecord): Record<string, unknown> {
  const iso = (time: number | null) => (time === null ? null : new Date(time).toISOString());
  return {
    grant_id: grant.id,
    client_id: grant.clientId,
    client_name: grant.clientName,
    client_destroyed: grant.clientDestroyed,
    user_id: grant.userId,
    user_email: grant.userEmail,
    account_id: grant.accountId,
    account_name: grant.accountName,
    account_kind: grant.accountKind,
    scopes: grant.scopes,
    created_at: iso(grant.createdAt),
    last_used_at: iso(grant.lastUsedAt),
    revoked_at: iso(grant.revokedAt),
    revoked_reason: grant.revokedReason,
  };
}
