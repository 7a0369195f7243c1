/**
 * Shared set-up for the protocol-core unit tests: settings as the default
 * preset defines them, and a fresh migrated store per describe block (SQLite,
 * or each dialect where a suite loops over them).
 */
import { after, before } from 'node:test';
import { defaultPreset } from '../../src/config/presets/default.js';
import type { AuthorizeEndpointSettings } from '../../src/core/authorize.js';
import type { ProtocolSettings, TokenEndpointSettings } from '../../src/core/settings.js';
import { RFC6749_RESPONSE } from '../../src/core/settings.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { type DialectCase, dialects, type TestDatabase } from '../support/databases.js';
import { seedScopes } from '../support/fixtures.js';

export const ISSUER = 'https://latchkey.test';

export function protocolSettings(overrides: Partial<ProtocolSettings> = {}): ProtocolSettings {
  return { issuer: ISSUER, ...defaultPreset.protocol, ...overrides };
}

export function tokenEndpoint(overrides: Partial<TokenEndpointSettings> = {}): TokenEndpointSettings {
  return {
    channel: 'default',
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    grantTypes: { authorization_code: 'authorization_code', refresh_token: 'refresh_token' },
    response: RFC6749_RESPONSE,
    ...overrides,
  };
}

export function authorizeEndpoint(overrides: Partial<AuthorizeEndpointSettings> = {}): AuthorizeEndpointSettings {
  return { channel: 'default', responseTypeRequired: true, ...overrides };
}

export interface StoreHandle {
  database: TestDatabase;
  store: KyselyStore;
}

/** A fresh migrated SQLite database (with the starter scopes) for the enclosing describe block. */
export function useSqliteStore(): StoreHandle {
  return useStore({ name: 'sqlite', skip: false, create: async () => (await sqliteDialect()).create() });
}

async function sqliteDialect(): Promise<DialectCase> {
  const [sqlite] = await dialects();
  if (sqlite?.name !== 'sqlite') throw new Error('expected sqlite as the first dialect');
  return sqlite;
}

/** A fresh migrated database of `dialect` (with the starter scopes) for the enclosing describe block. */
export function useStore(dialect: DialectCase): StoreHandle {
  const handle = {} as StoreHandle;
  before(async () => {
    handle.database = await dialect.create();
    handle.store = await handle.database.open();
    await seedScopes(handle.store);
  });
  after(async () => {
    await handle.database?.drop();
  });
  return handle;
}

/** A new account owned by the user, so each test gets its own grant. */
export async function freshAccount(store: KyselyStore, userId: string, now = Date.now()): Promise<string> {
  const account = await store.createAccount({ name: 'Test account', kind: 'company', partnerId: null }, now);
  await store.addMembership(userId, account.id, 'owner', now);
  return account.id;
}

/** Runs `work` and returns the error it throws (failing if it does not throw). */
export async function caught(work: () => unknown): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, none was thrown');
}
