/**
 * The operator's commands, run for real (node bin/latchkey.js) against a
 * SQLite --data-dir and a PostgreSQL DATABASE_URL: the rules of clients
 * (legacy override, partner link), partners (show, update, the CSV report),
 * users (list, show, lock, unlock), grants, scopes, admin API tokens and the
 * audit log, each with --json, audited as cli:<os user>.
 */
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/schema.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { assertFails, jsonOf, latchkey, type Run } from '../support/cli.js';
import { type DialectCase, dialects, type TestDatabase } from '../support/databases.js';
import { makeClient, makeUser, seedScopes } from '../support/fixtures.js';
import { auditEvents } from '../support/web.js';

const ACTOR = `cli:${userInfo().username}`;

const [sqlite, postgres] = await dialects();

function useCliDatabase(dialect: DialectCase) {
  const handle = {} as { database: TestDatabase; store: KyselyStore; run(args: string[]): Promise<Run>; json(args: string[]): Promise<Record<string, unknown>> };
  before(async () => {
    handle.database = await dialect.create();
    handle.store = await handle.database.open();
    await seedScopes(handle.store);
    const storeArgs = handle.database.sqliteFile ? ['--data-dir', dirname(handle.database.sqliteFile)] : [];
    const env: Record<string, string> = handle.database.databaseUrl ? { DATABASE_URL: handle.database.databaseUrl } : {};
    handle.run = (args) => latchkey([...args, ...storeArgs], env);
    handle.json = async (args) => jsonOf(await handle.run([...args, '--json']));
  });
  after(async () => {
    await handle.database?.drop();
  });
  return handle;
}

{
  const dialect = sqlite as DialectCase;
  describe(`latchkey operator commands (${dialect.name})`, { concurrency: false }, () => {
    const cli = useCliDatabase(dialect);
    const run = (args: string[]) => cli.run(args);
    const json = (args: string[]) => cli.json(args);
    let store: KyselyStore;
    before(() => {
      store = cli.store;
    });

    test('clients: --legacy needs --allow-new-legacy, on create and update; --partner links and --no-partner unlinks', async () => {
      assert.match((await json(['partners', 'create', '--name', 'Acme', '--partner-portal-id', 'acme'])).partner_id as string, /^ptn_/);
      assertFails(
        await run(['clients', 'create', '--name', 'Old', '--redirect-uri', 'https://old.example/cb', '--legacy']),
        2,
        /^latchkey: new clients may not use direct login .* \(pass --allow-new-legacy to override\)$/,
      );
      assert.equal((await store.listClients()).length, 0, 'nothing was registered');
      const legacy = await json(['clients', 'create', '--name', 'Old', '--redirect-uri', 'https://old.example/cb', '--legacy', '--allow-new-legacy']);
      assert.equal(legacy.legacy, true);
      const [created] = await auditEvents(store, 'client.created', legacy.client_id as string);
      assert.equal(created?.actor, ACTOR, 'the operator at the command line is the actor');
      assert.equal(created?.detail.legacyOverride, true);
      assert.equal(created?.detail.via, 'cli');

      const modern = await json(['clients', 'create', '--name', 'Acme Sync', '--redirect-uri', 'https://acme.example/cb', '--partner', 'acme', '--scope', 'read']);
      assert.equal(modern.partner_portal_id, 'acme');
      assertFails(await run(['clients', 'update', modern.client_id as string, '--legacy']), 2, /allow-new-legacy/);
      assert.equal((await json(['clients', 'update', modern.client_id as string, '--legacy', '--allow-new-legacy'])).legacy, true);
      assert.equal((await json(['clients', 'update', legacy.client_id as string, '--no-legacy'])).legacy, false);
      assertFails(await run(['clients', 'update', legacy.client_id as string, '--legacy', '--partner', 'nobody']), 2, /no partner with partner_portal_id nobody|allow-new-legacy/);

      const byPartner = (await json(['clients', 'list', '--partner', 'acme'])).clients as Array<Record<string, unknown>>;
      assert.deepEqual(byPartner.map((client) => client.client_id), [modern.client_id]);
      const bySearch = (await json(['clients', 'list', '--search', 'OLD'])).clients as Array<Record<string, unknown>>;
      assert.deepEqual(bySearch.map((client) => client.client_id), [legacy.client_id]);
      const unlinked = await json(['clients', 'update', modern.client_id as string, '--no-partner']);
      assert.equal(unlinked.partner_portal_id, null);
      await store.updateClient(modern.client_id as string, { partnerId: (await store.findPartnerByPortalId('acme'))?.id ?? null }, Date.now());
    });

    test('clients connections and delete: destroying a client revokes its connections and tokens, and says how many', async () => {
      const { user } = await makeUser(store, 'connected@example.com');
      const { client } = await makeClient(store, { name: 'Connected App' });
      const [account] = await store.listAccountsOfUser(user.id);
      const grant = await store.saveGrant({ clientId: client.id, userId: user.id, accountId: account?.id as string, scopes: ['read'], partnerId: null }, Date.now());
      const connections = (await json(['clients', 'connections', client.id])).connections as Array<Record<string, unknown>>;
      assert.deepEqual(connections.map((connection) => connection.grant_id), [grant.id]);
      const deleted = await json(['clients', 'delete', client.id]);
      assert.deepEqual(deleted, { client_id: client.id, deleted: true, revoked: { connections: 1 } });
      assert.notEqual((await store.findGrant(grant.id))?.revokedAt, null);
      assert.equal((await auditEvents(store, 'client.destroyed', client.id))[0]?.actor, ACTOR);
      assertFails(await run(['clients', 'connections', client.id]), 1, new RegExp(`^latchkey: no client ${client.id}$`));
    });

    test('partners: show with totals, update, and the report as CSV (monthly, accounts, connections) or JSON', async () => {
      const partner = await store.findPartnerByPortalId('acme');
      assert.ok(partner, 'partner');
      await store.createAccount({ name: '=1+2 Portal', kind: 'portal', partnerId: partner.id }, Date.parse('2024-02-10T00:00:00Z'));
      await store.createAccount({ name: 'Second', kind: 'portal', partnerId: partner.id }, Date.parse('2024-03-10T00:00:00Z'));
      const shown = await json(['partners', 'show', 'acme']);
      assert.deepEqual([shown.clients, shown.accounts, shown.connections], [1, 2, 0]);
      assert.equal((await json(['partners', 'update', partner.id, '--name', 'Acme Corp'])).name, 'Acme Corp');

      const csv = await run(['partners', 'report', 'acme', '--from', '2024-01', '--to', '2024-03']);
      assert.equal(csv.code, 0, csv.stderr);
      assert.equal(csv.stdout, 'month,partner_portal_id,accounts_created,connections_made\r\n2024-01,acme,0,0\r\n2024-02,acme,1,0\r\n2024-03,acme,1,0\r\n');
      const accounts = await run(['partners', 'report', 'acme', '--from', '2024-01', '--to', '2024-03', '--kind', 'accounts']);
      assert.match(accounts.stdout, /^account_id,name,kind,members,created_at,partner_portal_id\r\n/);
      assert.match(accounts.stdout, /,'=1\+2 Portal,portal,/, 'a formula-like name is neutralised');
      const report = await json(['partners', 'report', 'acme', '--from', '2024-02', '--to', '2024-02']);
      assert.deepEqual(report.months, [{ month: '2024-02', accounts: 1, connections: 0 }]);
      assertFails(await run(['partners', 'report', 'acme', '--from', '2024-1']), 2, /from is a month such as 2025-01/);
      assertFails(await run(['partners', 'show', 'nobody']), 1, /^latchkey: no partner nobody$/);
    });

    test('users: list, show with accounts and apps, lock (revoking connections), unlock', async () => {
      const { user } = await makeUser(store, 'lockme@example.com', [{ name: 'Lock Co', kind: 'company' }]);
      const { client } = await makeClient(store, { name: 'Lock App' });
      const [account] = await store.listAccountsOfUser(user.id);
      const grant = await store.saveGrant({ clientId: client.id, userId: user.id, accountId: account?.id as string, scopes: ['read'], partnerId: null }, Date.now());
      const text = await run(['users', 'list', '--search', 'lockme']);
      assert.match(text.stdout, /^user_id\s+email\s+name\s+status\s+created\n/);
      assert.equal(text.stdout.trimEnd().split('\n').length, 2, 'one user found');
      assert.ok(text.stdout.includes(user.id), 'text.stdout.includes(user.id)');
      const shown = await json(['users', 'show', 'LockMe@example.com']);
      assert.equal((shown.user as Record<string, unknown>).user_id, user.id);
      assert.deepEqual((shown.accounts as Array<Record<string, unknown>>).map((entry) => entry.name), ['Lock Co']);
      assert.deepEqual((shown.connections as Array<Record<string, unknown>>).map((entry) => entry.client_name), ['Lock App']);

      const locked = await json(['users', 'lock', user.id, '--revoke-connections', '--reason', 'stolen laptop']);
      assert.equal((locked.user as Record<string, unknown>).locked, true);
      assert.equal(locked.connections_revoked, 1);
      assert.notEqual((await store.findUser(user.id))?.lockedAt, null);
      assert.notEqual((await store.findGrant(grant.id))?.revokedAt, null);
      const [event] = await auditEvents(store, 'user.locked', user.id);
      assert.equal(event?.actor, ACTOR);
      assert.equal(event?.detail.reason, 'stolen laptop');
      assert.equal(((await json(['users', 'unlock', 'lockme@example.com'])).user as Record<string, unknown>).locked, false);
      assert.equal((await store.findUser(user.id))?.lockedAt, null);
      assertFails(await run(['users', 'lock', 'usr_nobody']), 1, /^latchkey: no user usr_nobody$/);
    });

    test('grants: show and revoke (revoking again says so)', async () => {
      const { user } = await makeUser(store, 'granted@example.com');
      const { client } = await makeClient(store, { name: 'Grant App' });
      const [account] = await store.listAccountsOfUser(user.id);
      const grant = await store.saveGrant({ clientId: client.id, userId: user.id, accountId: account?.id as string, scopes: ['read'], partnerId: null }, Date.now());
      assert.equal((await json(['grants', 'show', grant.id])).client_name, 'Grant App');
      const revoked = await json(['grants', 'revoke', grant.id, '--reason', 'support ticket 42']);
      assert.equal(revoked.already_revoked, false);
      assert.equal((revoked.connection as Record<string, unknown>).revoked_reason, 'revoked_by_admin');
      assert.equal((await json(['grants', 'revoke', grant.id])).already_revoked, true);
      assert.equal((await auditEvents(store, 'grant.revoked', grant.id))[0]?.actor, ACTOR);
      assertFails(await run(['grants', 'show', 'grt_nothing']), 1, /^latchkey: no connection grt_nothing$/);
    });

    test('scopes: set (new needs a description), list, default flag, delete (refused while in use)', async () => {
      assertFails(await run(['scopes', 'set', 'billing:read']), 2, /describe the scope: users read it on the consent page/);
      const created = await json(['scopes', 'set', 'billing:read', '--description', 'See your bills']);
      assert.deepEqual(created, { name: 'billing:read', description: 'See your bills', default: false, created: true });
      const updated = await json(['scopes', 'set', 'billing:read', '--default']);
      assert.deepEqual(updated, { name: 'billing:read', description: 'See your bills', default: true, created: false });
      const { client } = await makeClient(store, { name: 'Billing App', scopes: ['billing:read'] });
      const listed = (await json(['scopes', 'list'])).scopes as Array<Record<string, unknown>>;
      assert.equal(listed.find((scope) => scope.name === 'billing:read')?.clients, 1);
      assertFails(await run(['scopes', 'delete', 'billing:read']), 2, new RegExp(`scope billing:read is still allowed to 1 client: Billing App \\(${client.id}\\)`));
      await store.updateClient(client.id, { scopes: ['read'] }, Date.now());
      assert.deepEqual(await json(['scopes', 'delete', 'billing:read']), { name: 'billing:read', deleted: true });
    });

    test('tokens: create (shown once) works on the admin API, list never shows it, revoke stops it', async () => {
      const created = await json(['tokens', 'create', '--name', 'deploy bot', '--expires-in-days', '30']);
      const token = created.token as string;
      assert.match(token, /^lk_adm_[A-Za-z0-9_-]{43}$/);
      assert.equal(created.created_by, null, 'made at the command line, owned by no user');
      const app = await buildApp({ config: loadConfig({ issuer: 'http://localhost:3000' }, {}), store, logger: false });
      try {
        const call = () => app.inject({ url: '/admin/api/clients', headers: { authorization: `Bearer ${token}` } });
        assert.equal((await call()).statusCode, 200);
        const listed = await run(['tokens', 'list', '--json']);
        assert.ok(!listed.stdout.includes(token), '!listed.stdout.includes(token)');
        assert.equal(((JSON.parse(listed.stdout) as { tokens: Array<Record<string, unknown>> }).tokens[0] as Record<string, unknown>).status, 'active');
        const revoked = await json(['tokens', 'revoke', created.token_id as string]);
        assert.equal((revoked.token as Record<string, unknown>).status, 'revoked');
        assert.equal((await call()).statusCode, 401);
      } finally {
        await app.close();
      }
      assertFails(await run(['tokens', 'revoke', 'adt_nothing']), 1, /^latchkey: no admin token adt_nothing$/);
    });

    test("audit list: the operator's actions with filters, newest first, and field errors for bad filters", async () => {
      const events = (await json(['audit', 'list', '--actor', ACTOR, '--type', 'client.*'])).events as Array<Record<string, unknown>>;
      assert.ok(events.length >= 4, 'events.length >= 4');
      assert.ok(events.every((event) => String(event.type).startsWith('client.') && event.actor === ACTOR), 'events.every((event) => String(event.type).startsWith(\'client.\') && event.actor === A...');
      assert.ok(Date.parse(events[0]?.at as string) >= Date.parse(events.at(-1)?.at as string), 'newest first');
      const text = await run(['audit', 'list', '--type', 'client.created', '--actor', ACTOR, '--limit', '1']);
      assert.match(text.stdout, /^id\s+at\s+type\s+actor\s+ip\s+subject\s+detail\n\d+\s+\S+\s+client\.created\s+cli:/);
      assert.match(text.stdout, /\(more: --before \d+\)\n$/, 'the next page');
      assertFails(await run(['audit', 'list', '--from', 'last tuesday']), 2, /Use a date such as 2025-03-01/);
      assert.deepEqual((await json(['audit', 'list', '--to', '2000-01-01'])).events, []);
    });
  });
}

describe('latchkey operator commands on PostgreSQL (DATABASE_URL)', { skip: postgres?.skip ?? 'no PostgreSQL', concurrency: false }, () => {
  const cli = useCliDatabase(postgres as DialectCase);

  test('a partner, a client linked to it, a locked user, the report and the audit log, in the database of DATABASE_URL', async () => {
    await cli.json(['partners', 'create', '--name', 'Acme', '--partner-portal-id', 'acme']);
    const client = await cli.json(['clients', 'create', '--name', 'Acme Sync', '--redirect-uri', 'https://acme.example/cb', '--partner', 'acme']);
    assert.equal(client.partner_portal_id, 'acme');
    const { user } = await makeUser(cli.store, 'pg@example.com');
    await cli.store.createAccount({ name: 'Via Acme', kind: 'portal', partnerId: (await cli.store.findPartnerByPortalId('acme'))?.id ?? null }, Date.parse('2024-05-05T00:00:00Z'));
    assert.equal(((await cli.json(['users', 'lock', 'pg@example.com'])).user as Record<string, unknown>).locked, true);
    assert.notEqual((await cli.store.findUser(user.id))?.lockedAt, null);
    const csv = await cli.run(['partners', 'report', 'acme', '--from', '2024-05', '--to', '2024-05']);
    assert.equal(csv.stdout, 'month,partner_portal_id,accounts_created,connections_made\r\n2024-05,acme,1,0\r\n');
    const events = (await cli.json(['audit', 'list', '--actor', ACTOR])).events as Array<Record<string, unknown>>;
    assert.deepEqual(
      events.map((event) => event.type),
      ['user.locked', 'client.created', 'partner.created'],
    );
  });
});
