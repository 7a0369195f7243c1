/**
 * The admin API's partners (the reporting and billing view: accounts created
 * through a partner and connections made by its clients, per month, as JSON
 * and CSV), users (find, show, create, lock, unlock) and connections (revoke),
 * over every dialect.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as S from '../../src/http/admin/schemas.js';
import { Agent, basic, location, tokenRequest } from '../support/agent.js';
import { useAdminServer } from '../support/admin.js';
import { dialects } from '../support/databases.js';
import { makeClient, makeUser, PASSWORD } from '../support/fixtures.js';
import { auditEvents, signInForm } from '../support/web.js';

const at = (iso: string) => Date.parse(iso);

for (const dialect of await dialects()) {
  describe(`admin API: partners, users and connections (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useAdminServer(dialect);
    let seq = 0;
    const unique = (prefix: string) => `${prefix}-${dialect.name}-${++seq}`;

    async function partner(name: string) {
      const portal = unique(name.toLowerCase().replace(/\W+/g, '-'));
      const response = await server.api('POST', '/admin/api/partners', { name, partner_portal_id: portal });
      assert.equal(response.statusCode, 201, response.body);
      return S.Partner.parse(response.json());
    }

    test('partners: create, unique partner_portal_id, field errors, rename, find by id or partner_portal_id', async () => {
      const acme = await partner('Acme Learning');
      const duplicate = await server.api('POST', '/admin/api/partners', { name: 'Other', partner_portal_id: acme.partner_portal_id });
      assert.equal(duplicate.statusCode, 400);
      assert.match(duplicate.json().fields.partner_portal_id, /already exists/);
      const bad = await server.api('POST', '/admin/api/partners', { name: ' ', partner_portal_id: 'has space' });
      assert.deepEqual(Object.keys(bad.json().fields).sort(), ['name', 'partner_portal_id']);
      const missing = await server.api('POST', '/admin/api/partners', { name: 'No Portal' });
      assert.equal(missing.json().fields.partner_portal_id, 'This field is required.');

      const byPortal = S.PartnerSummary.parse((await server.api('GET', `/admin/api/partners/${acme.partner_portal_id}`)).json());
      const byId = S.PartnerSummary.parse((await server.api('GET', `/admin/api/partners/${acme.partner_id}`)).json());
      assert.deepEqual(byPortal, byId);
      assert.deepEqual([byPortal.clients, byPortal.accounts, byPortal.connections], [0, 0, 0]);

      const renamed = await server.api('PATCH', `/admin/api/partners/${acme.partner_id}`, { name: 'Acme Learning Ltd', partner_portal_id: `${acme.partner_portal_id}-2` });
      assert.equal(renamed.statusCode, 200, renamed.body);
      assert.equal(renamed.json().name, 'Acme Learning Ltd');
      const other = await partner('Other');
      const taken = await server.api('PATCH', `/admin/api/partners/${other.partner_id}`, { partner_portal_id: `${acme.partner_portal_id}-2` });
      assert.equal(taken.statusCode, 400);
      assert.ok(taken.json().fields.partner_portal_id, 'taken.json().fields.partner_portal_id');
      const [event] = await auditEvents(server.store, 'partner.updated', acme.partner_id);
      assert.equal(event?.actor, server.tokenId);
      assert.equal(event?.detail.previousPartnerPortalId, acme.partner_portal_id);

      const all = S.PartnerList.parse((await server.api('GET', '/admin/api/partners')).json());
      assert.ok(all.partners.some((entry) => entry.partner_id === acme.partner_id), 'all.partners.some((entry) => entry.partner_id === acme.partner_id)');
    });

    test('the report counts accounts created through the partner and connections made by its clients, per UTC month', async () => {
      const p = await partner('Globex');
      const partnerId = p.partner_id;
      const { client } = await makeClient(server.store, { name: 'Globex Sync' });
      await server.store.updateClient(client.id, { partnerId }, Date.now());
      const { user } = await makeUser(server.store, `${unique('learner')}@example.com`, [{ name: 'Own', kind: 'company' }]);
      const account = async (name: string, time: number, credited = partnerId) => {
        const created = await server.store.createAccount({ name, kind: 'portal', partnerId: credited }, time);
        await server.store.addMembership(user.id, created.id, 'owner', time);
        return created;
      };
      const connect = async (time: number) => {
        const target = await server.store.createAccount({ name: 'Connected', kind: 'company', partnerId: null }, time);
        await server.store.addMembership(user.id, target.id, 'owner', time);
        return server.store.saveGrant({ clientId: client.id, userId: user.id, accountId: target.id, scopes: ['read'], partnerId }, time);
      };
      await account('January One', at('2024-01-03T10:00:00Z'));
      await account('January Two', at('2024-01-31T23:59:59Z'));
      await account('=HYPERLINK("http://evil.example","click"), Inc', at('2024-03-01T00:00:00Z'));
      await account('Not theirs', at('2024-02-10T00:00:00Z'), (await partner('Unrelated')).partner_id);
      await connect(at('2024-02-01T00:00:00Z'));
      const revoked = await connect(at('2024-03-15T12:00:00Z'));
      await server.store.revokeGrant(revoked.id, Date.now(), 'test');
      await connect(at('2024-04-01T00:00:00Z'));
      await server.store.saveMachineGrant({ clientId: client.id, scopes: ['read'], partnerId }, at('2024-02-05T00:00:00Z'));

      const response = await server.api('GET', `/admin/api/partners/${p.partner_portal_id}/report?from=2023-12&to=2024-03`);
      assert.equal(response.statusCode, 200, response.body);
      const report = S.PartnerReport.parse(response.json());
      assert.deepEqual(report.months, [
        { month: '2023-12', accounts: 0, connections: 0 },
        { month: '2024-01', accounts: 2, connections: 0 },
        { month: '2024-02', accounts: 0, connections: 1 },
        { month: '2024-03', accounts: 1, connections: 1 },
      ]);
      assert.deepEqual(report.totals, { accounts: 3, connections: 2 }, "a client's own (machine) connection is not a customer connection");

      const summary = S.PartnerSummary.parse((await server.api('GET', `/admin/api/partners/${p.partner_id}`)).json());
      assert.deepEqual([summary.clients, summary.accounts, summary.connections], [1, 3, 3]);

      const csv = await server.api('GET', `/admin/api/partners/${p.partner_portal_id}/report.csv?from=2024-01&to=2024-03`);
      assert.equal(csv.statusCode, 200);
      assert.equal(csv.headers['content-type'], 'text/csv; charset=utf-8');
      assert.match(String(csv.headers['content-disposition']), new RegExp(`attachment; filename="${p.partner_portal_id}-monthly-2024-01-to-2024-03.csv"`));
      assert.equal(
        csv.body,
        `month,partner_portal_id,accounts_created,connections_made\r\n2024-01,${p.partner_portal_id},2,0\r\n2024-02,${p.partner_portal_id},0,1\r\n2024-03,${p.partner_portal_id},1,1\r\n`,
      );
      const accountsCsv = await server.api('GET', `/admin/api/partners/${p.partner_portal_id}/report.csv?kind=accounts&from=2024-01&to=2024-03`);
      const lines = accountsCsv.body.trimEnd().split('\r\n');
      assert.equal(lines[0], 'account_id,name,kind,members,created_at,partner_portal_id');
      assert.equal(lines.length, 4);
      assert.ok(
        lines.some((line) => line.includes(`"'=HYPERLINK(""http://evil.example"",""click""), Inc"`)),
        `a name that looks like a formula is neutralised and quoted: ${accountsCsv.body}`,
      );
      const connectionsCsv = await server.api('GET', `/admin/api/partners/${p.partner_portal_id}/report.csv?kind=connections&from=2024-01&to=2024-04`);
      assert.equal(connectionsCsv.body.trimEnd().split('\r\n').length, 4);
      assert.match(connectionsCsv.body, /Globex Sync/);

      const accounts = S.PartnerAccountList.parse((await server.api('GET', `/admin/api/partners/${p.partner_id}/accounts?from=2024-01&to=2024-12`)).json());
      assert.equal(accounts.accounts.length, 3);
      assert.equal(accounts.accounts[0]?.members, 1);
      const connections = S.ConnectionList.parse((await server.api('GET', `/admin/api/partners/${p.partner_id}/connections?from=2024-01&to=2024-12&limit=2`)).json());
      assert.equal(connections.connections.length, 2);
      assert.equal(connections.connections[0]?.created_at, '2024-04-01T00:00:00.000Z', 'newest first');

      for (const [query, field] of [
        ['from=2024-13', 'from'],
        ['from=2024-05&to=2024-01', 'from'],
        ['from=2000-01&to=2024-01', 'from'],
        ['kind=everything', 'kind'],
        ['to=March', 'to'],
      ] as const) {
        const bad = await server.api('GET', `/admin/api/partners/${p.partner_id}/report.csv?${query}`);
        assert.equal(bad.statusCode, 400, query);
        assert.ok(bad.json().fields[field], `${query}: ${bad.body}`);
      }
      const defaulted = S.PartnerReport.parse((await server.api('GET', `/admin/api/partners/${p.partner_id}/report`)).json());
      assert.equal(defaulted.months.length, 12, 'the last twelve months by default');
    });

    test("a connection made through a partner's client in the browser counts, and stays counted after the client is destroyed", async () => {
      const p = await partner('Initech');
      const created = await server.api('POST', '/admin/api/clients', {
        name: 'Initech App',
        redirect_uris: ['https://partner.example/callback'],
        scopes: ['profile', 'read'],
        partner_portal_id: p.partner_portal_id,
      });
      const client = S.ClientCreated.parse(created.json());
      await server.connect(client.client_id, client.client_secret as string);
      const month = new Date(server.clock.now()).toISOString().slice(0, 7);
      const report = async () => S.PartnerReport.parse((await server.api('GET', `/admin/api/partners/${p.partner_id}/report?from=${month}&to=${month}`)).json());
      assert.deepEqual((await report()).totals, { accounts: 0, connections: 1 });
      assert.equal((await server.api('DELETE', `/admin/api/clients/${client.client_id}`)).statusCode, 200);
      assert.deepEqual((await report()).totals, { accounts: 0, connections: 1 }, 'billing history survives the client');
    });

    test('users: create with accounts, field errors, find by email, name or id, show with accounts and connected apps', async () => {
      const email = `${unique('grace')}@example.com`;
      const created = await server.api('POST', '/admin/api/users', {
        email,
        password: PASSWORD,
        first_name: 'Grace',
        last_name: 'Hopper',
        accounts: [
          { name: 'Navy', kind: 'company' },
          { name: 'Grace', kind: 'participant' },
        ],
      });
      assert.equal(created.statusCode, 201, created.body);
      const { user, accounts } = S.UserCreated.parse(created.json());
      assert.equal(user.email, email);
      assert.deepEqual(accounts.map((account) => account.kind), ['company', 'participant']);
      const [event] = await auditEvents(server.store, 'user.created', user.user_id);
      assert.equal(event?.actor, server.tokenId);
      assert.ok(!JSON.stringify(event).includes(PASSWORD), 'no password in the audit log');

      const again = await server.api('POST', '/admin/api/users', { email: email.toUpperCase(), password: PASSWORD });
      assert.equal(again.statusCode, 400);
      assert.match(again.json().fields.email, /already exists/);
      const weak = await server.api('POST', '/admin/api/users', { email: `${unique('weak')}@example.com`, password: 'short' });
      assert.match(weak.json().fields.password, /10 characters/);
      const kinds = await server.api('POST', '/admin/api/users', { email: `${unique('kind')}@example.com`, password: PASSWORD, accounts: [{ name: 'X', kind: 'Big Corp!' }] });
      assert.ok(kinds.json().fields['accounts.0.kind'], 'kinds.json().fields[\'accounts.0.kind\']');
      const notEmail = await server.api('POST', '/admin/api/users', { email: 'nobody', password: PASSWORD });
      assert.ok(notEmail.json().fields.email, 'notEmail.json().fields.email');

      const search = async (q: string) => S.UserList.parse((await server.api('GET', `/admin/api/users?q=${encodeURIComponent(q)}`)).json()).users.map((found) => found.user_id);
      assert.deepEqual(await search(email.slice(0, 12).toUpperCase()), [user.user_id]);
      assert.ok((await search('hopper')).includes(user.user_id), '(await search(\'hopper\')).includes(user.user_id)');
      assert.deepEqual(await search(user.user_id), [user.user_id]);

      const { client, secret } = await makeClient(server.store, { name: "Grace's App" });
      const tokens = await server.connect(client.id, secret, email);
      assert.equal(await server.me(tokens.access_token), 200);
      const shown = await server.api('GET', `/admin/api/users/${encodeURIComponent(email)}`);
      const detail = S.UserDetail.parse(shown.json());
      assert.equal(detail.user.user_id, user.user_id);
      assert.equal(detail.accounts.length, 2);
      assert.deepEqual(detail.connections.map((connection) => connection.client_name), ["Grace's App"]);
      assert.ok(!shown.body.includes('argon2'), 'no password hash');
      assert.equal((await server.api('GET', '/admin/api/users/usr_nosuchuser')).statusCode, 404);
    });

    test('lock: sign-in and direct login are refused, sessions end, and with revoke_connections every app loses access; unlock undoes the lock', async () => {
      const email = `${unique('locked')}@example.com`;
      const { user } = await makeUser(server.store, email, [{ name: 'Locked Co', kind: 'company' }]);
      const { client, secret } = await makeClient(server.store, { name: 'Legacy Sync', isLegacy: true });
      const tokens = await server.connect(client.id, secret, email);
      const browser = new Agent(server.app);
      const submit = await signInForm(browser);
      assert.equal((await submit(email, PASSWORD)).statusCode, 303);
      assert.equal((await browser.get('/account/apps')).statusCode, 200);

      const locked = await server.api('POST', `/admin/api/users/${user.id}/lock`, { reason: 'suspected account takeover', revoke_connections: true });
      assert.equal(locked.statusCode, 200, locked.body);
      const body = S.UserLocked.parse(locked.json());
      assert.equal(body.user.locked, true);
      assert.equal(body.sessions_ended, 2, 'the browser that connected the app and the one on the connected-apps page');
      assert.equal(body.connections_revoked, 1);

      assert.equal(location(await browser.get('/account/apps')), '/login', 'signed out everywhere');
      assert.equal(await server.me(tokens.access_token), 401, 'the connected app lost access');
      const retry = await signInForm(new Agent(server.app));
      assert.equal((await retry(email, PASSWORD)).statusCode, 401, 'a locked user cannot sign in');
      const direct = await tokenRequest(server.app, { grant_type: 'password', username: email, password: PASSWORD }, { authorization: basic(client.id, secret) });
      assert.equal(direct.json().error, 'invalid_grant', 'nor use direct login');

      const [event] = await auditEvents(server.store, 'user.locked', user.id);
      assert.equal(event?.actor, server.tokenId);
      assert.equal(event?.ip, '127.0.0.1');
      assert.equal(event?.detail.reason, 'suspected account takeover');

      const unlocked = await server.api('POST', `/admin/api/users/${email}/unlock`, {});
      assert.equal(S.UserUnlocked.parse(unlocked.json()).user.locked, false);
      const after = await signInForm(new Agent(server.app));
      assert.equal((await after(email, PASSWORD)).statusCode, 303, 'unlocked, the user signs in again');
      assert.equal((await auditEvents(server.store, 'user.unlocked', user.id)).length, 1);

      const keep = await server.api('POST', `/admin/api/users/${user.id}/lock`, {});
      assert.equal(S.UserLocked.parse(keep.json()).connections_revoked, 0, 'connections are revoked only when asked');
      await server.api('POST', `/admin/api/users/${user.id}/unlock`, {});
      const tooLong = await server.api('POST', `/admin/api/users/${user.id}/lock`, { reason: 'x'.repeat(501) });
      assert.equal(tooLong.statusCode, 400);
      assert.ok(tooLong.json().fields.reason, 'tooLong.json().fields.reason');
    });

    test('revoking a connection stops its tokens at once; revoking it again says so', async () => {
      const email = `${unique('revoke')}@example.com`;
      await makeUser(server.store, email);
      const tokens = await server.connect(server.client.id, server.secret, email);
      const [grant] = (await server.store.admin.listGrants({ clientId: server.client.id, includeRevoked: false, limit: 500 })).filter((entry) => entry.userEmail === email);
      assert.ok(grant, 'grant');
      const revoked = await server.api('POST', `/admin/api/grants/${grant.id}/revoke`, { reason: 'partner asked' });
      assert.equal(revoked.statusCode, 200, revoked.body);
      const body = S.ConnectionRevoked.parse(revoked.json());
      assert.equal(body.already_revoked, false);
      assert.equal(body.connection.revoked_reason, 'revoked_by_admin');
      assert.equal(await server.me(tokens.access_token), 401);
      const refresh = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, { authorization: basic(server.client.id, server.secret) });
      assert.equal(refresh.json().error, 'invalid_grant');
      assert.equal(S.ConnectionRevoked.parse((await server.api('POST', `/admin/api/grants/${grant.id}/revoke`, {})).json()).already_revoked, true);
      const [event] = await auditEvents(server.store, 'grant.revoked', grant.id);
      assert.equal(event?.actor, server.tokenId);
      assert.equal(event?.detail.note, 'partner asked');
      assert.equal((await server.api('POST', '/admin/api/grants/grt_unknowngrant/revoke', {})).statusCode, 404);
    });
  });
}
