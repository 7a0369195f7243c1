/**
 * The admin API's audit log (every security-relevant event, with who, when
 * and from where; filtered by type, actor, subject and time; paged), the
 * scope registry and admin API tokens, over every dialect.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hashCredential } from '../../src/core/secrets.js';
import * as S from '../../src/http/admin/schemas.js';
import { Agent, basic, runBrowserFlow, tokenRequest } from '../support/agent.js';
import { useAdminServer } from '../support/admin.js';
import { dialects } from '../support/databases.js';
import { makeClient, makeUser, PASSWORD } from '../support/fixtures.js';
import { randomIp, signInForm } from '../support/web.js';

for (const dialect of await dialects()) {
  describe(`admin API: audit log, scopes and tokens (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useAdminServer(dialect);
    let seq = 0;
    const unique = (prefix: string) => `${prefix}-${dialect.name}-${++seq}`;
    const audit = async (query: string) => {
      const response = await server.api('GET', `/admin/api/audit?${query}`);
      assert.equal(response.statusCode, 200, response.body);
      return S.AuditPage.parse(response.json());
    };

    test('security events are in the log with who, when and from where: sign-in failures and lockouts, connections, token reuse, admin actions', async () => {
      const email = `${unique('victim')}@example.com`;
      const { user } = await makeUser(server.store, email);
      const ip = randomIp();
      const submit = await signInForm(new Agent(server.app), ip);
      for (let attempt = 0; attempt < 5; attempt++) await submit(email, `wrong guess ${attempt}`);
      const failed = await audit(`type=signin.failed&subject=${user.id}`);
      assert.equal(failed.events.length, 5);
      assert.equal(failed.events[0]?.ip, ip, 'from where');
      const lockouts = await audit(`type=signin.locked&subject=${user.id}`);
      assert.equal(lockouts.events.length, 1);
      assert.equal(lockouts.events[0]?.detail.scope, 'account');

      const { client, secret } = await makeClient(server.store, { name: unique('Reuse App') });
      const redirect = await runBrowserFlow(new Agent(server.app), { clientId: client.id });
      const code = redirect.searchParams.get('code') as string;
      const approved = await audit(`type=grant.approved&subject=${client.id}`);
      assert.equal(approved.events.length, 1, 'the connection is in the log');
      assert.equal(approved.events[0]?.ip, '127.0.0.1', 'with the address it was approved from');
      const exchange = () =>
        tokenRequest(
          server.app,
          { grant_type: 'authorization_code', code, redirect_uri: 'https://partner.example/callback', code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-extra-entropy' },
          { authorization: basic(client.id, secret) },
        );
      assert.equal((await exchange()).statusCode, 200);
      assert.equal((await exchange()).json().error, 'invalid_grant', 'the code is single use');
      const codeReuse = await audit('type=authorization_code.reuse_detected');
      assert.ok(codeReuse.events.some((event) => event.actor === client.id && event.ip === '127.0.0.1'), 'code reuse is in the log');

      const { client: second, secret: secondSecret } = await makeClient(server.store, { name: unique('Refresh App') });
      const flow = await runBrowserFlow(new Agent(server.app), { clientId: second.id });
      const first = await tokenRequest(
        server.app,
        {
          grant_type: 'authorization_code',
          code: flow.searchParams.get('code') as string,
          redirect_uri: 'https://partner.example/callback',
          code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-extra-entropy',
        },
        { authorization: basic(second.id, secondSecret) },
      );
      const refreshToken = (first.json() as { refresh_token: string }).refresh_token;
      const refresh = () => tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: refreshToken }, { authorization: basic(second.id, secondSecret) });
      assert.equal((await refresh()).statusCode, 200);
      assert.equal((await refresh()).json().error, 'invalid_grant', 'the retired refresh token is refused');
      const reuse = await audit(`type=refresh_token.reuse_detected&actor=${second.id}`);
      assert.equal(reuse.events.length, 1, 'refresh token reuse is in the log');
      assert.equal(reuse.events[0]?.detail.clientId, second.id);

      const created = await server.api('POST', '/admin/api/partners', { name: 'Audited', partner_portal_id: unique('audited') });
      const partnerId = created.json().partner_id as string;
      const [event] = (await audit(`subject=${partnerId}`)).events;
      assert.equal(event?.type, 'partner.created');
      assert.equal(event?.actor, server.tokenId, 'who');
      assert.equal(event?.ip, '127.0.0.1', 'from where');
      assert.ok(Math.abs(Date.parse(event?.at ?? '') - server.clock.now()) < 60_000, 'when');
      assert.equal(event?.detail.via, 'api');
    });

    test('filters: type (exact, family, several), actor, subject, time range; pages newest first; bad filters are field errors', async () => {
      const actor = unique('cli:tester');
      const base = Date.parse('2023-06-10T12:00:00Z');
      for (const [offsetDays, type] of [
        [0, 'client.created'],
        [1, 'client.updated'],
        [2, 'partner.created'],
        [3, 'client.destroyed'],
        [20, 'client.created'],
      ] as const) {
        await server.store.recordAudit({ type, actor, ip: null, subject: 'lkc_filtertest', detail: { n: offsetDays } }, base + offsetDays * 86_400_000);
      }
      const types = (query: string) => audit(`actor=${encodeURIComponent(actor)}&${query}`).then((page) => page.events.map((event) => event.type));
      assert.deepEqual(await types(''), ['client.created', 'client.destroyed', 'partner.created', 'client.updated', 'client.created'], 'newest first');
      assert.deepEqual(await types('type=client.*'), ['client.created', 'client.destroyed', 'client.updated', 'client.created']);
      assert.deepEqual(await types('type=client.'), ['client.created', 'client.destroyed', 'client.updated', 'client.created']);
      assert.deepEqual(await types('type=partner.created,client.destroyed'), ['client.destroyed', 'partner.created']);
      assert.deepEqual(await types('from=2023-06-11&to=2023-06-12'), ['partner.created', 'client.updated'], 'a date alone includes that day');
      assert.deepEqual(await types('from=2023-06-11T12:00:00Z&to=2023-06-12T12:00:00Z'), ['client.updated']);
      assert.deepEqual(await types('subject=lkc_nothing'), []);

      const page1 = await audit(`actor=${encodeURIComponent(actor)}&limit=2`);
      assert.equal(page1.events.length, 2);
      assert.ok(page1.next_before, 'page1.next_before');
      const page2 = await audit(`actor=${encodeURIComponent(actor)}&limit=2&before=${page1.next_before}`);
      const page3 = await audit(`actor=${encodeURIComponent(actor)}&limit=2&before=${page2.next_before}`);
      assert.equal(page3.events.length, 1);
      assert.equal(page3.next_before, null, 'the last page says so');
      assert.equal(new Set([...page1.events, ...page2.events, ...page3.events].map((event) => event.id)).size, 5);

      const bad = await server.api('GET', '/admin/api/audit?type=DROP%20TABLE;&from=yesterday&to=2023-02-30&limit=0&before=x');
      assert.equal(bad.statusCode, 400);
      assert.deepEqual(Object.keys(bad.json().fields).sort(), ['before', 'from', 'limit', 'to', 'type']);
      const backwards = await server.api('GET', '/admin/api/audit?from=2023-06-12&to=2023-06-11');
      assert.match(backwards.json().fields.to, /after the start/);
      const typesList = S.AuditTypes.parse((await server.api('GET', '/admin/api/audit/types')).json());
      assert.ok(typesList.types.includes('partner.created'), 'typesList.types.includes(\'partner.created\')');
    });

    test('scopes: the registry with descriptions shown on consent, defaults, field errors; a scope in use cannot be deleted', async () => {
      const name = `${unique('invoices')}:read`;
      const missing = await server.api('PUT', `/admin/api/scopes/${encodeURIComponent(name)}`, {});
      assert.equal(missing.statusCode, 400);
      assert.match(missing.json().fields.description, /consent page/);
      const created = await server.api('PUT', `/admin/api/scopes/${encodeURIComponent(name)}`, { description: 'See your invoices' });
      assert.equal(created.statusCode, 201, created.body);
      const changed = await server.api('PUT', `/admin/api/scopes/${encodeURIComponent(name)}`, { description: 'See and download your invoices', default: true });
      assert.equal(changed.statusCode, 200);
      assert.deepEqual(S.Scope.parse(changed.json()), { name, description: 'See and download your invoices', default: true });
      const bad = await server.api('PUT', `/admin/api/scopes/${encodeURIComponent('has space')}`, { description: 'x', default: 'yes' });
      assert.equal(bad.statusCode, 400);
      assert.ok(bad.json().fields.default, 'bad.json().fields.default');
      const badName = await server.api('PUT', `/admin/api/scopes/${encodeURIComponent('has space')}`, { description: 'x' });
      assert.match(badName.json().fields.name, /RFC 6749/);

      const { client } = await makeClient(server.store, { name: unique('Invoice App'), scopes: [name] });
      const agent = new Agent(server.app);
      const consent = await agent.get(`/oauth/authorize?response_type=code&client_id=${client.id}&redirect_uri=${encodeURIComponent('https://partner.example/callback')}&scope=${encodeURIComponent(name)}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256`);
      assert.ok(consent.statusCode === 303 || consent.statusCode === 200, 'consent.statusCode === 303 || consent.statusCode === 200');
      const submit = await signInForm(agent, '127.0.0.1', /interaction=([^&"]+)/.exec(String(consent.headers.location))?.[1]);
      const signedIn = await submit('ada@example.com', PASSWORD);
      const consentPage = await agent.get(String(signedIn.headers.location));
      assert.match(consentPage.body, /See and download your invoices/, 'users read the description on the consent page');

      const listed = S.ScopeList.parse((await server.api('GET', '/admin/api/scopes')).json());
      assert.equal(listed.scopes.find((scope) => scope.name === name)?.clients, 1);
      const inUse = await server.api('DELETE', `/admin/api/scopes/${encodeURIComponent(name)}`);
      assert.equal(inUse.statusCode, 400);
      assert.match(inUse.json().fields.name, new RegExp(`still allowed to 1 client: .*${client.id}`));
      await server.api('PATCH', `/admin/api/clients/${client.id}`, { scopes: ['profile'] });
      const deleted = await server.api('DELETE', `/admin/api/scopes/${encodeURIComponent(name)}`);
      assert.deepEqual(S.ScopeDeleted.parse(deleted.json()), { name, deleted: true });
      assert.equal((await server.api('DELETE', `/admin/api/scopes/${encodeURIComponent(name)}`)).statusCode, 404);
      const events = (await audit(`subject=${encodeURIComponent(name)}`)).events.map((event) => event.type);
      assert.deepEqual(events, ['scope.deleted', 'scope.updated', 'scope.created']);
    });

    test('tokens: created and shown once, stored hashed, owned by the admin, listed without the token, revoked for good', async () => {
      const created = await server.api('POST', '/admin/api/tokens', { name: 'billing export', expires_in_days: 30 });
      assert.equal(created.statusCode, 201, created.body);
      const token = S.TokenCreated.parse(created.json());
      assert.match(token.token, /^lk_adm_[A-Za-z0-9_-]{43}$/);
      assert.equal(token.created_by, server.admin.id, 'a token made with a token belongs to the same admin');
      assert.ok(Math.abs(Date.parse(token.expires_at ?? '') - (server.clock.now() + 30 * 86_400_000)) < 60_000, 'Math.abs(Date.parse(token.expires_at ?? \'\') - (server.clock.now() + 30 * 86_400_000))...');
      const [row] = await server.store.db.selectFrom('admin_tokens').select('token_hash').where('id', '=', token.token_id).execute();
      assert.equal(row?.token_hash, hashCredential(token.token));
      assert.equal((await server.api('GET', '/admin/api/scopes', undefined, token.token)).statusCode, 200, 'the new token works');

      const listed = await server.api('GET', '/admin/api/tokens');
      assert.ok(!listed.body.includes(token.token), 'never listed');
      assert.ok(!listed.body.includes('lk_adm_'), '!listed.body.includes(\'lk_adm_\')');
      assert.equal(S.TokenList.parse(listed.json()).tokens.find((entry) => entry.token_id === token.token_id)?.status, 'active');

      const revoked = await server.api('DELETE', `/admin/api/tokens/${token.token_id}`);
      assert.equal(S.TokenRevoked.parse(revoked.json()).token.status, 'revoked');
      assert.equal((await server.api('GET', '/admin/api/scopes', undefined, token.token)).statusCode, 401);
      assert.equal(S.TokenRevoked.parse((await server.api('DELETE', `/admin/api/tokens/${token.token_id}`)).json()).already_revoked, true);
      assert.equal((await server.api('DELETE', '/admin/api/tokens/adt_nosuchtoken')).statusCode, 404);
      const types = (await audit(`subject=${token.token_id}`)).events.map((event) => event.type);
      assert.deepEqual(types, ['admin_token.revoked', 'admin_token.created']);

      for (const [body, field] of [
        [{ name: '' }, 'name'],
        [{ name: 'x', expires_in_days: 0 }, 'expires_in_days'],
        [{ name: 'x', expires_in_days: 5000 }, 'expires_in_days'],
        [{ name: 'x', expires_in_days: 1.5 }, 'expires_in_days'],
        [{ name: 'x', scope: 'all' }, 'scope'],
      ] as const) {
        const response = await server.api('POST', '/admin/api/tokens', body);
        assert.equal(response.statusCode, 400, JSON.stringify(body));
        assert.ok(response.json().fields[field], `${JSON.stringify(body)}: ${response.body}`);
      }
    });
  });
}
