/**
 * Sign-up inside the authorization flow (Go1: "if the connecting customer
 * does not have a Go1 account they can use the sign-up option to create an
 * account and authorize access to that new account directly within this
 * flow"). One user, one new account they own, linked to the partner the
 * authorization request named (partner_portal_id), if any.
 */
import type { Account, User } from '../core/model.js';
import { checkPasswordStrength } from '../core/passwords.js';
import type { Store } from '../store/types.js';
import { ValidationError } from './errors.js';
import { registerUser } from './users.js';

export type SignUpField = 'first_name' | 'last_name' | 'email' | 'password' | 'account_name';

export interface SignUpInput {
  firstName: string;
  lastName: string;
  email: string;
  password: string;
  accountName: string;
}

/** The kind of the account created at sign-up (Go1 calls them portals). */
export const SIGN_UP_ACCOUNT_KIND = 'portal';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const NAME_MAX = 100;

/** Per-field problems, in words a person can act on; empty when the input is acceptable. */
export function validateSignUp(input: SignUpInput): Partial<Record<SignUpField, string>> {
  const errors: Partial<Record<SignUpField, string>> = {};
  const firstName = input.firstName.trim();
  const lastName = input.lastName.trim();
  const email = input.email.trim().toLowerCase();
  const accountName = input.accountName.trim();
  if (firstName === '') errors.first_name = 'Enter your first name.';
  else if (firstName.length > NAME_MAX) errors.first_name = `Use at most ${NAME_MAX} characters.`;
  if (lastName === '') errors.last_name = 'Enter your last name.';
  else if (lastName.length > NAME_MAX) errors.last_name = `Use at most ${NAME_MAX} characters.`;
  if (email === '') errors.email = 'Enter your email address.';
  else if (!EMAIL.test(email) || email.length > 254) errors.email = 'Enter an email address like name@example.com.';
  const weak = checkPasswordStrength(input.password, [email.split('@')[0] ?? '', firstName, lastName]);
  if (weak) errors.password = weak;
  if (accountName === '') errors.account_name = 'Enter a name for your new account.';
  else if (accountName.length > NAME_MAX) errors.account_name = `Use at most ${NAME_MAX} characters.`;
  return errors;
}

export class EmailTaken extends Error {
  constructor() {
    super('a user with this email already exists');
    this.name = 'EmailTaken';
  }
}

/**
 * Creates the user and their account in one transaction. Throws
 * ValidationError for bad input and EmailTaken when the email is registered.
 */
export async function signUp(
  store: Store,
  input: SignUpInput,
  context: { partnerId: string | null; ip: string | null },
  now: number,
): Promise<{ user: User; account: Account }> {
  const errors = validateSignUp(input);
  const first = Object.values(errors)[0];
  if (first) throw new ValidationError(first);
  if (await store.findUserByEmail(input.email.trim())) throw new EmailTaken();
  try {
    const { user, accounts } = await registerUser(
      store,
      {
        email: input.email,
        password: input.password,
        firstName: input.firstName,
        lastName: input.lastName,
        accounts: [{ name: input.accountName.trim(), kind: SIGN_UP_ACCOUNT_KIND, partnerId: context.partnerId }],
        source: { via: 'signup', ip: context.ip },
      },
      now,
    );
    return { user, account: accounts[0] as Account };
  } catch (error) {
    // Two sign-ups with one email at once: the unique index decides, the loser is told.
    if (error instanceof ValidationError && /already exists/.test(error.message)) throw new EmailTaken();
    throw error;
  }
}
