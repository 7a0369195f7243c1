/** Seed data for tests: users, accounts and clients created through the real services. */
import { registerClient } from '../../src/services/clients.js';
import { STARTER_SCOPES } from '../../src/services/bootstrap.js';
import { registerUser } from '../../src/services/users.js';
import type { Store } from '../../src/store/types.js';

export const PASSWORD = 'correct horse battery staple';
export const REDIRECT_URI = 'https://partner.example/callback';

export async function seedScopes(store: Store): Promise<void> {
  for (const scope of STARTER_SCOPES) await store.upsertScope(scope);
}

export async function makeUser(
  store: Store,
  email = 'ada@example.com',
  accounts: Array<{ name: string; kind: string }> = [{ name: 'Ada Co', kind: 'company' }],
) {
  return registerUser(store, { email, password: PASSWORD, firstName: 'Ada', lastName: 'Lovelace', accounts }, Date.now());
}

export async function makeClient(
  store: Store,
  overrides: Partial<Parameters<typeof registerClient>[1]> = {},
) {
  const { client, secret } = await registerClient(
    store,
    { name: 'Partner App', redirectUris: [REDIRECT_URI], scopes: ['profile', 'read', 'write'], ...overrides },
    Date.now(),
    // A legacy client in a test is an existing integration: the operator's override of the legacy rule.
    { allowNewLegacy: overrides.isLegacy === true },
  );
  return { client, secret: secret as string };
}
