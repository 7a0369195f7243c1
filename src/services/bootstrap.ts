/** First start: the scope registry, an admin user and a demo client, so the flow can be tried at once. */
import { randomBytes } from 'node:crypto';
import type { Scope } from '../core/model.js';
import type { Store } from '../store/types.js';
import { registerClient } from './clients.js';
import { registerUser } from './users.js';

export const STARTER_SCOPES: Scope[] = [
  { name: 'profile', description: 'See your name and email address', isDefault: true },
  { name: 'read', description: 'Read the data of the connected account', isDefault: false },
  { name: 'write', description: 'Create and change data in the connected account', isDefault: false },
];

export interface FirstRun {
  adminEmail: string;
  adminPassword: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

/** Seeds an empty database; returns what was created, or undefined when the database already had users. */
export async function bootstrapIfEmpty(store: Store, issuer: string, now: number): Promise<FirstRun | undefined> {
  if ((await store.countUsers()) > 0) return undefined;
  for (const scope of STARTER_SCOPES) await store.upsertScope(scope);
  const adminEmail = 'admin@latchkey.local';
  const adminPassword = randomBytes(12).toString('base64url');
  await registerUser(
    store,
    { email: adminEmail, password: adminPassword, firstName: 'Latchkey', lastName: 'Admin', isAdmin: true, accounts: [{ name: 'Demo Company', kind: 'company' }] },
    now,
  );
  const redirectUri = `${issuer}/demo/callback`;
  const { client, secret } = await registerClient(
    store,
    { name: 'Demo app', redirectUris: [redirectUri], scopes: STARTER_SCOPES.map((scope) => scope.name) },
    now,
  );
  return { adminEmail, adminPassword, clientId: client.id, clientSecret: secret as string, redirectUri };
}
