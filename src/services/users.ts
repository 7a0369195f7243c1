/** Creating users with their accounts; finding, locking and unlocking them (operators). */
import type { Account, Partner, User } from '../core/model.js';
import { checkPasswordStrength, hashPassword } from '../core/passwords.js';
import type { GrantRecord } from '../store/admin.js';
import { DuplicateError, type Store } from '../store/types.js';
import { type Actor, auditEvent, SYSTEM } from './audit.js';
import { NotFoundError, ValidationError } from './errors.js';

export interface UserRegistration {
  email: string;
  password: string;
  firstName?: string | undefined;
  lastName?: string | undefined;
  isAdmin?: boolean | undefined;
  /** Accounts to create for the user; one personal account when empty. */
  accounts?: Array<{ name: string; kind: string; partnerId?: string | null | undefined }> | undefined;
  /** How the user came to be (recorded in the audit event), e.g. { via: 'signup', ip }. */
  source?: { via: string; ip: string | null } | undefined;
  /** The operator who created the user (CLI, admin API), for the audit trail. */
  by?: Actor | undefined;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Parses "NAME:KIND" (KIND defaults to "personal"). */
export function parseAccountSpec(spec: string): { name: string; kind: string } {
  const colon = spec.lastIndexOf(':');
  const name = (colon === -1 ? spec : spec.slice(0, colon)).trim();
  const kind = (colon === -1 ? 'personal' : spec.slice(colon + 1)).trim().toLowerCase();
  if (name === '' || name.length > 100) throw ValidationError.field('accounts', `account "${spec}" needs a name of 1 to 100 characters (NAME:KIND)`);
  if (!/^[a-z][a-z0-9_-]{0,39}$/.test(kind)) throw ValidationError.field('accounts', `account kind "${kind}" must be a short lowercase word`);
  return { name, kind };
}

export async function registerUser(store: Store, input: UserRegistration, now: number): Promise<{ user: User; accounts: Account[] }> {
  const email = input.email.trim().toLowerCase();
  if (!EMAIL.test(email) || email.length > 254) throw ValidationError.field('email', `"${input.email}" is not an email address`);
  const firstName = (input.firstName ?? '').trim();
  const lastName = (input.lastName ?? '').trim();
  if (firstName.length > 100) throw ValidationError.field('first_name', 'first name is at most 100 characters');
  if (lastName.length > 100) throw ValidationError.field('last_name', 'last name is at most 100 characters');
  const weak = checkPasswordStrength(input.password, [email.split('@')[0] ?? '', firstName, lastName]);
  if (weak) throw ValidationError.field('password', `password: ${weak}`);
  const specs = input.accounts?.length ? input.accounts : [{ name: `${firstName} ${lastName}`.trim() || email, kind: 'personal' }];
  const passwordHash = await hashPassword(input.password);
  try {
    return await store.transaction(async (tx) => {
      const user = await tx.createUser({ email, passwordHash, firstName, lastName, isAdmin: input.isAdmin ?? false }, now);
      const accounts: Account[] = [];
      for (const spec of specs) {
        const account = await tx.createAccount({ name: spec.name, kind: spec.kind, partnerId: 'partnerId' in spec ? (spec.partnerId ?? null) : null }, now);
        await tx.addMembership(user.id, account.id, 'owner', now);
        accounts.push(account);
      }
      const detail = { accounts: accounts.length, ...(user.isAdmin ? { admin: true } : {}) };
      await tx.recordAudit(
        input.by
          ? auditEvent(input.by, 'user.created', user.id, detail)
          : {
              type: 'user.created',
              actor: null,
              ip: input.source?.ip ?? null,
              subject: user.id,
              detail: { ...detail, ...(input.source ? { via: input.source.via } : {}) },
            },
        now,
      );
      return { user, accounts };
    });
  } catch (error) {
    if (error instanceof DuplicateError) throw ValidationError.field('email', `a user with email ${email} already exists`);
    throw error;
  }
}

export async function getUser(store: Store, userId: string): Promise<User> {
  const user = userId.startsWith('usr_') ? await store.findUser(userId) : await store.findUserByEmail(userId);
  if (!user) throw new NotFoundError(`no user ${userId}`);
  return user;
}

/** Users whose email or name contains `q`, or whose id is `q`. */
export async function searchUsers(
  store: Store,
  input: { q?: string | undefined; limit?: number | undefined; offset?: number | undefined },
): Promise<{ users: User[]; total: number }> {
  const fields: Record<string, string> = {};
  const q = input.q?.trim() ?? '';
  if (q.length > 200) fields.q = 'the search is at most 200 characters';
  const limit = input.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) fields.limit = 'limit is a whole number from 1 to 500';
  const offset = input.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) fields.offset = 'offset is a whole number, 0 or more';
  ValidationError.throwIfAny(fields);
  return store.admin.searchUsers({ q: q || undefined, limit, offset });
}

export interface UserDetail {
  user: User;
  accounts: Array<Account & { partner: Partner | undefined }>;
  /** Live connections first, then the most recent revoked ones. */
  connections: GrantRecord[];
}

/** A user with their accounts and connected apps (by id, or by email). */
export async function userDetail(store: Store, userIdOrEmail: string): Promise<UserDetail> {
  const user = await getUser(store, userIdOrEmail);
  const [accounts, connections] = await Promise.all([
    store.listAccountsOfUser(user.id),
    store.admin.listGrants({ userId: user.id, includeRevoked: true, limit: 200 }),
  ]);
  const partners = new Map<string, Partner | undefined>();
  for (const account of accounts) {
    if (account.partnerId && !partners.has(account.partnerId)) partners.set(account.partnerId, await store.findPartner(account.partnerId));
  }
  connections.sort((a, b) => Number(a.revokedAt !== null) - Number(b.revokedAt !== null));
  return {
    user,
    accounts: accounts.map((account) => ({ ...account, partner: account.partnerId ? partners.get(account.partnerId) : undefined })),
    connections,
  };
}

/**
 * Locks the user: sign-in and direct login are refused and every browser
 * session ends. With `revokeConnections`, every app they connected loses its
 * access too (for a compromised account).
 */
export async function lockUser(
  store: Store,
  userIdOrEmail: string,
  now: number,
  options: { by?: Actor | undefined; revokeConnections?: boolean | undefined; reason?: string | undefined } = {},
): Promise<{ user: User; sessionsEnded: number; connectionsRevoked: number; alreadyLocked: boolean }> {
  const reason = options.reason?.trim() || undefined;
  if (reason !== undefined && reason.length > 500) throw ValidationError.field('reason', 'the reason is at most 500 characters');
  const user = await getUser(store, userIdOrEmail);
  const by = options.by ?? SYSTEM;
  if (by.actor !== null && by.actor === user.id) throw ValidationError.field('user_id', 'you cannot lock yourself out');
  return store.transaction(async (tx) => {
    const alreadyLocked = user.lockedAt !== null;
    if (!alreadyLocked) await tx.admin.setUserLocked(user.id, now, now);
    const sessionsEnded = await tx.admin.deleteSessionsOfUser(user.id);
    let connectionsRevoked = 0;
    if (options.revokeConnections) {
      for (const grant of await tx.admin.listGrants({ userId: user.id, includeRevoked: false, limit: 10_000 })) {
        await tx.revokeGrant(grant.id, now, 'user_locked');
        connectionsRevoked += 1;
      }
    }
    await tx.recordAudit(
      auditEvent(by, 'user.locked', user.id, { sessionsEnded, connectionsRevoked, ...(reason ? { reason } : {}), ...(alreadyLocked ? { alreadyLocked } : {}) }),
      now,
    );
    return { user: { ...user, lockedAt: user.lockedAt ?? now }, sessionsEnded, connectionsRevoked, alreadyLocked };
  });
}

export async function unlockUser(store: Store, userIdOrEmail: string, now: number, options: { by?: Actor | undefined } = {}): Promise<User> {
  const user = await getUser(store, userIdOrEmail);
  return store.transaction(async (tx) => {
    await tx.admin.setUserLocked(user.id, null, now);
    await tx.recordAudit(auditEvent(options.by ?? SYSTEM, 'user.unlocked', user.id, user.lockedAt === null ? { wasLocked: false } : {}), now);
    return { ...user, lockedAt: null };
  });
}

/** A user as the CLI and the admin API print them: never the password hash. */
export function userView(user: User): Record<string, unknown> {
  return {
    user_id: user.id,
    email: user.email,
    first_name: user.firstName,
    last_name: user.lastName,
    admin: user.isAdmin,
    locked: user.lockedAt !== null,
    locked_at: user.lockedAt === null ? null : new Date(user.lockedAt).toISOString(),
    created_at: new Date(user.createdAt).toISOString(),
  };
}
