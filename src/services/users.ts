/** Creating users with their accounts. */
import type { Account, User } from '../core/model.js';
import { checkPasswordStrength, hashPassword } from '../core/passwords.js';
import { DuplicateError, type Store } from '../store/types.js';
import { ValidationError } from './errors.js';

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
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Parses "NAME:KIND" (KIND defaults to "personal"). */
export function parseAccountSpec(spec: string): { name: string; kind: string } {
  const colon = spec.lastIndexOf(':');
  const name = (colon === -1 ? spec : spec.slice(0, colon)).trim();
  const kind = (colon === -1 ? 'personal' : spec.slice(colon + 1)).trim().toLowerCase();
  if (name === '') throw new ValidationError(`account "${spec}" needs a name (NAME:KIND)`);
  if (!/^[a-z][a-z0-9_-]{0,39}$/.test(kind)) throw new ValidationError(`account kind "${kind}" must be a short lowercase word`);
  return { name, kind };
}

export async function registerUser(store: Store, input: UserRegistration, now: number): Promise<{ user: User; accounts: Account[] }> {
  const email = input.email.trim().toLowerCase();
  if (!EMAIL.test(email) || email.length > 254) throw new ValidationError(`"${input.email}" is not an email address`);
  const firstName = (input.firstName ?? '').trim();
  const lastName = (input.lastName ?? '').trim();
  const weak = checkPasswordStrength(input.password, [email.split('@')[0] ?? '', firstName, lastName]);
  if (weak) throw new ValidationError(`password: ${weak}`);
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
      await tx.recordAudit(
        {
          type: 'user.created',
          actor: null,
          ip: input.source?.ip ?? null,
          subject: user.id,
          detail: { accounts: accounts.length, ...(input.source ? { via: input.source.via } : {}) },
        },
        now,
      );
      return { user, accounts };
    });
  } catch (error) {
    if (error instanceof DuplicateError) throw new ValidationError(`a user with email ${email} already exists`);
    throw error;
  }
}
