/**
 * The admin API's OAuth clients, over every dialect: authentication with
 * admin API tokens, registering (secret shown once, stored hashed), field-level
 * validation, the redirect URL and legacy rules, partners, search, rotating
 * the secret with an overlap, and destroying a client (its grants and tokens
 * stop working at once, and the audit log says who did it and from where).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hashCredential } from '../../src/core/secrets.js';
import * as S from '../../src/http/admin/schemas.js';
import { createAdminToken } from '../../src/services/admin-tokens.js';
import { registerUser } from '../../src/services/users.js';
import { basic, REDIRECT_URI, tokenRequest } from '../support/agent.js';
import { useAdminServer } from '../support/admin.js';
import { dialects } from '../support/databases.js';
import { makeClient, PASSWORD } from '../support/fixtures.js';
import { auditEvents } from '../support/web.js';

for (const dialect of await dialects()) {
  describe(`admin API: clients (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useAdminServer(dialect);
    let seq = 0;
    const unique = (prefix: string) => `${prefix}-${dialect.name}-${++seq}`;

    async function create(body: Record<string, unknown>) {
      const response = await server.api('POST', '/admin/api/clients', { redirect_uris: [REDIRECT_URI], scopes: ['profile', 'read'], ...body });
      assert.equal(response.statusCode, 201, response.body);
      return S.ClientCreated.parse(response.json());
    }

    /** Whether the token endpoint accepts the client's credentials (invalid_grant means it authenticated). */
    async function authenticates(clientId: string, secret: string): Promise<boolean> {
      const response = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: 'lk_rt_nothing' }, { authorization: basic(clientId, secret) });
      if (response.statusCode === 401) return false;
      assert.equal(response.json().error, 'invalid_grant', response.body);
      return true;
    }

    async function clientCount(): Promise<number> {
      return (await server.store.listClients()).length;
    }

    test('without a token, or with a malformed, unknown, revoked, expired or demoted one, the API answers 401', async () => {
      const none = await server.api('GET', '/admin/api/clients', undefined, null);
      assert.equal(none.statusCode, 401);
      assert.equal(none.json().error, 'unauthorized');
      assert.equal(none.headers['www-authenticate'], 'Bearer realm="latchkey-admin"');
      assert.equal(none.headers['cache-control'], 'no-store');

      const basicAuth = await server.app.inject({ url: '/admin/api/clients', headers: { authorization: basic('root', PASSWORD) } });
      assert.equal(basicAuth.statusCode, 401, 'Basic credentials are not an admin token');

      const { access_token } = await server.connect(server.client.id, server.secret);
      const revoked = await createAdminToken(server.store, { name: 'to revoke' }, Date.now());
      await server.store.admin.revokeAdminToken(revoked.token.id, Date.now());
      const expired = 'lk_adm_expiredexpiredexpiredexpiredexpiredexpire';
      await server.store.admin.insertAdminToken(
        { id: 'adt_expiredtoken0', name: 'old', createdBy: null, createdAt: Date.now() - 10_000, expiresAt: Date.now() - 1, lastUsedAt: null, lastUsedIp: null, revokedAt: null },
        hashCredential(expired),
      );
      const { user: demoted } = await registerUser(server.store, { email: unique('demoted') + '@example.com', password: PASSWORD, isAdmin: true }, Date.now());
      const owned = await createAdminToken(server.store, { name: 'owned' }, Date.now(), { by: { actor: demoted.id, ip: null, via: 'console' } });
      assert.equal((await server.api('GET', '/admin/api/clients', undefined, owned.secret)).statusCode, 200, 'works while the owner is an admin');
      await server.store.db.updateTable('users').set({ is_admin: 0 }).where('id', '=', demoted.id).execute();

      for (const [label, token] of [
        ['a user access token', access_token],
        ['an unknown admin token', 'lk_adm_unknownunknownunknownunknownunknownunknown'],
        ['a revoked admin token', revoked.secret],
        ['an expired admin token', expired],
        ['the token of a user who is no longer an admin', owned.secret],
      ] as const) {
        const response = await server.api('GET', '/admin/api/clients', undefined, token);
        assert.equal(response.statusCode, 401, label);
        assert.deepEqual(response.json(), { error: 'invalid_token', error_description: 'The admin API token is invalid, expired or revoked.' }, label);
        assert.equal(response.headers['www-authenticate'], 'Bearer realm="latchkey-admin", error="invalid_token"', label);
      }
      const malformed = await server.app.inject({ url: '/admin/api/clients', headers: { authorization: 'Bearer' } });
      assert.equal(malformed.statusCode, 401);

      const tokens = S.TokenList.parse((await server.api('GET', '/admin/api/tokens')).json()).tokens;
      const mine = tokens.find((token) => token.token_id === server.tokenId);
      assert.ok(mine?.last_used_at, 'the last use is recorded');
      assert.equal(mine?.last_used_ip, '127.0.0.1');
    });

    test('POST /clients registers a confidential client: the secret is in that response only, and stored as its SHA-256', async () => {
      const created = await create({ name: 'Partner Portal', access_token_ttl: 900 });
      assert.match(created.client_id, /^lkc_/);
      assert.match(created.client_secret ?? '', /^lk_cs_[A-Za-z0-9_-]{43}$/);
      assert.equal(created.access_token_ttl, 900);
      assert.deepEqual(created.grant_types, ['authorization_code', 'refresh_token']);
      assert.equal(await authenticates(created.client_id, created.client_secret as string), true);

      const shown = await server.api('GET', `/admin/api/clients/${created.client_id}`);
      assert.equal(shown.statusCode, 200);
      const detail = S.ClientDetail.parse(shown.json());
      assert.equal(detail.live_connections, 0);
      assert.ok(!shown.body.includes('lk_cs_'), 'a client is never shown with its secret');
      const listed = await server.api('GET', '/admin/api/clients');
      assert.ok(!listed.body.includes('lk_cs_'), '!listed.body.includes(\'lk_cs_\')');

      const rows = await server.store.db.selectFrom('client_secrets').select('secret_hash').where('client_id', '=', created.client_id).execute();
      assert.deepEqual(rows, [{ secret_hash: hashCredential(created.client_secret as string) }]);

      const [event] = await auditEvents(server.store, 'client.created', created.client_id);
      assert.equal(event?.actor, server.tokenId, 'the admin token is the actor');
      assert.equal(event?.ip, '127.0.0.1');
      assert.equal(event?.detail.via, 'api');
      assert.equal(event?.detail.onBehalfOf, server.admin.id, 'and the admin the token belongs to');
      assert.ok(!JSON.stringify(event).includes(created.client_secret as string), 'the audit log has no secret');

      const publicClient = await create({ name: 'Mobile', public: true, redirect_uris: ['com.example.app:/cb'] });
      assert.equal(publicClient.client_secret, null);
    });

    test('redirect URLs: absolute https, or http on a loopback host, and never a fragment', async () => {
      for (const good of ['https://partner.example/cb?x=1', 'http://127.0.0.1:8080/cb', 'http://localhost/cb', 'http://[::1]:3000/cb']) {
        await create({ name: 'Good Redirect', redirect_uris: [good] });
      }
      const before = await clientCount();
      for (const [bad, why] of [
        ['http://partner.example/cb', /loopback/],
        ['https://partner.example/cb#section', /fragment/],
        ['/relative/callback', /absolute/],
        ['partner.example/cb', /absolute/],
        ['javascript:alert(1)', /javascript/],
        ['https://user:pw@partner.example/cb', /user information/],
        ['https://partner.example/c b', /white space/],
      ] as const) {
        const response = await server.api('POST', '/admin/api/clients', { name: 'Bad Redirect', redirect_uris: ['https://fine.example/cb', bad] });
        assert.equal(response.statusCode, 400, bad);
        const body = S.ApiError.parse(response.json());
        assert.equal(body.error, 'invalid_request');
        assert.match(body.fields?.redirect_uris ?? '', why, bad);
        assert.ok(body.fields?.redirect_uris?.includes(bad), 'the message names the URL');
      }
      assert.equal(await clientCount(), before, 'nothing was registered');

      const client = await create({ name: 'Keeps Its Redirect' });
      const patched = await server.api('PATCH', `/admin/api/clients/${client.client_id}`, { redirect_uris: ['http://partner.example/cb'] });
      assert.equal(patched.statusCode, 400);
      assert.match(patched.json().fields.redirect_uris, /loopback/);
      assert.deepEqual((await server.store.findClient(client.client_id))?.redirectUris, [REDIRECT_URI]);
      const none = await server.api('PATCH', `/admin/api/clients/${client.client_id}`, { redirect_uris: [] });
      assert.equal(none.statusCode, 400, 'the authorization_code grant needs a redirect URL');
      assert.match(none.json().fields.redirect_uris, /at least one redirect URI/);
    });

    test('every input is validated, with an error per field, and nothing is written', async () => {
      const before = await clientCount();
      const cases: Array<[Record<string, unknown>, string[]]> = [
        [{ name: '   ' }, ['name']],
        [{ name: 'x'.repeat(201) }, ['name']],
        [{ name: 'A', grant_types: ['implicit'] }, ['grant_types.0']],
        [{ name: 'A', access_token_ttl: 0 }, ['access_token_ttl']],
        [{ name: 'A', access_token_ttl: 1.5 }, ['access_token_ttl']],
        [{ name: 'A', access_token_ttl: '3600' }, ['access_token_ttl']],
        [{ name: 'A', access_token_ttl: 100_000 }, ['access_token_ttl']],
        [{ name: 'A', refresh_token_ttl: 500 * 86_400 }, ['refresh_token_ttl']],
        [{ name: 'A', access_token_format: 'paseto' }, ['access_token_format']],
        [{ name: 'A', scopes: ['read write'] }, ['scopes']],
        [{ name: 'A', scopes: ['say"hi'] }, ['scopes']],
        [{ name: 'A', partner_portal_id: 'nobody' }, ['partner_portal_id']],
        [{ name: 'A', public: true, grant_types: ['client_credentials'] }, ['grant_types']],
        [{ name: 'A', public: true, resource_server: true }, ['resource_server']],
        [{ name: 'A', grant_types: ['password'] }, ['grant_types']],
        [{ name: 'A', redirect_uri: REDIRECT_URI }, ['redirect_uri']],
        [{ name: 42, public: 'yes' }, ['name', 'public']],
        [{ redirect_uris: [REDIRECT_URI] }, ['name']],
        [{ name: '', redirect_uris: ['http://x.example/cb'], access_token_ttl: -1 }, ['name', 'redirect_uris', 'access_token_ttl']],
      ];
      for (const [body, fields] of cases) {
        const response = await server.api('POST', '/admin/api/clients', { redirect_uris: [REDIRECT_URI], ...body });
        assert.equal(response.statusCode, 400, JSON.stringify(body));
        const error = S.ApiError.parse(response.json());
        assert.equal(error.error, 'invalid_request');
        assert.deepEqual(Object.keys(error.fields ?? {}).sort(), [...fields].sort(), `${JSON.stringify(body)}: ${response.body}`);
        assert.ok(error.error_description.length > 0, 'error.error_description.length > 0');
      }
      const missingName = await server.api('POST', '/admin/api/clients', { redirect_uris: [REDIRECT_URI] });
      assert.equal(missingName.json().fields.name, 'This field is required.');
      const unknownField = await server.api('POST', '/admin/api/clients', { name: 'A', redirect_uri: REDIRECT_URI });
      assert.equal(unknownField.json().fields.redirect_uri, 'Unknown field.', 'a misspelt field is an error, not ignored');
      assert.equal(await clientCount(), before);
    });

    test('the legacy flag can be kept or cleared, never newly granted without the explicit override', async () => {
      const refused = await server.api('POST', '/admin/api/clients', { name: 'Old Integration', redirect_uris: [REDIRECT_URI], legacy: true });
      assert.equal(refused.statusCode, 400);
      assert.match(refused.json().fields.legacy, /new clients may not use direct login.*allow_new_legacy/);

      const legacy = await create({ name: 'Old Integration', legacy: true, allow_new_legacy: true });
      assert.equal(legacy.legacy, true);
      const [created] = await auditEvents(server.store, 'client.created', legacy.client_id);
      assert.equal(created?.detail.legacyOverride, true, 'the override is in the audit log');
      assert.equal(created?.actor, server.tokenId);

      const direct = (clientId: string, secret: string) =>
        tokenRequest(server.app, { grant_type: 'password', username: 'ada@example.com', password: PASSWORD }, { authorization: basic(clientId, secret) });
      assert.equal((await direct(legacy.client_id, legacy.client_secret as string)).statusCode, 200, 'a legacy client may use direct login');

      const kept = await server.api('PATCH', `/admin/api/clients/${legacy.client_id}`, { name: 'Old Integration v2', legacy: true });
      assert.equal(kept.statusCode, 200, 'keeping the flag needs no override');
      const cleared = await server.api('PATCH', `/admin/api/clients/${legacy.client_id}`, { legacy: false });
      assert.equal(S.Client.parse(cleared.json()).legacy, false);
      assert.equal((await direct(legacy.client_id, legacy.client_secret as string)).json().error, 'unauthorized_client', 'direct login ends with the flag');
      const again = await server.api('PATCH', `/admin/api/clients/${legacy.client_id}`, { legacy: true });
      assert.equal(again.statusCode, 400, 'once cleared, the flag cannot come back without the override');
      assert.match(again.json().fields.legacy, /legacy flag can only be kept/);
      assert.equal((await server.store.findClient(legacy.client_id))?.isLegacy, false);

      const modern = await create({ name: 'Modern' });
      assert.equal((await server.api('PATCH', `/admin/api/clients/${modern.client_id}`, { legacy: true })).statusCode, 400);
      const overridden = await server.api('PATCH', `/admin/api/clients/${modern.client_id}`, { legacy: true, allow_new_legacy: true });
      assert.equal(overridden.statusCode, 200);
      assert.equal(overridden.json().legacy, true);
      const updates = await auditEvents(server.store, 'client.updated', modern.client_id);
      assert.equal(updates.at(-1)?.detail.legacyOverride, true);
      assert.equal((await server.api('PATCH', `/admin/api/clients/${modern.client_id}`, { public: true })).statusCode, 400, 'public cannot be changed');
    });

    test('a client may be linked to a partner by partner_portal_id, and unlinked', async () => {
      const portal = unique('acme');
      assert.equal((await server.api('POST', '/admin/api/partners', { name: 'Acme Partners', partner_portal_id: portal })).statusCode, 201);
      const linked = await create({ name: 'Acme Sync', partner_portal_id: portal });
      assert.equal(linked.partner_portal_id, portal);
      const partner = await server.store.findPartnerByPortalId(portal);
      assert.equal((await server.store.findClient(linked.client_id))?.partnerId, partner?.id);
      const filtered = S.ClientList.parse((await server.api('GET', `/admin/api/clients?partner=${portal}`)).json());
      assert.deepEqual(
        filtered.clients.map((client) => client.client_id),
        [linked.client_id],
      );
      const unlinked = await server.api('PATCH', `/admin/api/clients/${linked.client_id}`, { partner_portal_id: null });
      assert.equal(unlinked.json().partner_portal_id, null);
      const unknown = await server.api('PATCH', `/admin/api/clients/${linked.client_id}`, { partner_portal_id: 'no-such-partner' });
      assert.equal(unknown.statusCode, 400);
      assert.match(unknown.json().fields.partner_portal_id, /no partner with partner_portal_id no-such-partner/);
    });

    test('GET /clients searches by name (case-insensitive, wildcards literal) or id, and pages', async () => {
      const tag = unique('Zebra');
      const first = await create({ name: `${tag} Alpha` });
      await create({ name: `${tag} Beta` });
      await create({ name: `${tag} 100% Gamma` });
      const search = async (query: string) => S.ClientList.parse((await server.api('GET', `/admin/api/clients?${query}`)).json());
      assert.equal((await search(`q=${encodeURIComponent(tag.toLowerCase())}`)).total, 3);
      assert.deepEqual(
        (await search(`q=${encodeURIComponent(`${tag} 100%`)}`)).clients.map((client) => client.name),
        [`${tag} 100% Gamma`],
      );
      assert.equal((await search('q=%25')).clients.every((client) => client.name.includes('%')), true, '% is not a wildcard');
      assert.deepEqual((await search(`q=${first.client_id}`)).clients.map((client) => client.client_id), [first.client_id]);
      const page = await search(`q=${encodeURIComponent(tag)}&limit=2&offset=2`);
      assert.equal(page.total, 3);
      assert.equal(page.clients.length, 1);
      const bad = await server.api('GET', '/admin/api/clients?limit=1000&offset=-1&colour=red');
      assert.equal(bad.statusCode, 400);
      assert.deepEqual(Object.keys(bad.json().fields).sort(), ['colour', 'offset']);
      assert.equal((await server.api('GET', '/admin/api/clients?limit=1000')).json().fields.limit, 'limit is a whole number from 1 to 500');
    });

    test('rotate-secret: a new secret, shown once; the old one works during the overlap only', async () => {
      const client = await create({ name: 'Rotating' });
      const old = client.client_secret as string;
      const rotated = await server.api('POST', `/admin/api/clients/${client.client_id}/rotate-secret`, { overlap_seconds: 3600 });
      assert.equal(rotated.statusCode, 200, rotated.body);
      const body = S.SecretRotated.parse(rotated.json());
      assert.notEqual(body.client_secret, old);
      assert.ok(Math.abs(Date.parse(body.previous_secret_expires_at) - (server.clock.now() + 3_600_000)) < 60_000, 'Math.abs(Date.parse(body.previous_secret_expires_at) - (server.clock.now() + 3_600_000)...');
      assert.equal(await authenticates(client.client_id, old), true, 'the old secret works during the overlap');
      const during = S.ClientDetail.parse((await server.api('GET', `/admin/api/clients/${client.client_id}`)).json());
      assert.equal(during.secrets.length, 2, 'two secrets work during the overlap');
      assert.equal(during.secrets[0]?.expires_at, null, 'the new one does not expire');
      assert.equal(during.secrets[1]?.expires_at, body.previous_secret_expires_at);
      assert.equal(await authenticates(client.client_id, body.client_secret), true);
      const [event] = await auditEvents(server.store, 'client.secret_rotated', client.client_id);
      assert.equal(event?.actor, server.tokenId);
      assert.equal(event?.detail.overlapSeconds, 3600);

      const immediate = S.SecretRotated.parse((await server.api('POST', `/admin/api/clients/${client.client_id}/rotate-secret`, { overlap_seconds: 0 })).json());
      assert.equal(await authenticates(client.client_id, body.client_secret), false, 'with no overlap the previous secret stops at once');
      assert.equal(await authenticates(client.client_id, immediate.client_secret), true);

      const defaulted = await server.api('POST', `/admin/api/clients/${client.client_id}/rotate-secret`, {});
      assert.ok(Math.abs(Date.parse(defaulted.json().previous_secret_expires_at) - (server.clock.now() + 86_400_000)) < 60_000, 'the default overlap is 24 h');

      const tooLong = await server.api('POST', `/admin/api/clients/${client.client_id}/rotate-secret`, { overlap_seconds: 90 * 86_400 });
      assert.equal(tooLong.statusCode, 400);
      assert.ok(tooLong.json().fields.overlap_seconds, 'tooLong.json().fields.overlap_seconds');
      const publicClient = await create({ name: 'No Secret', public: true });
      const noSecret = await server.api('POST', `/admin/api/clients/${publicClient.client_id}/rotate-secret`, {});
      assert.equal(noSecret.statusCode, 400);
      assert.match(noSecret.json().error_description, /public client has no secret/);
    });

    test('DELETE /clients/:id destroys the client: its grants, access and refresh tokens stop working at once, and it is audited', async () => {
      const client = await create({ name: 'Doomed App' });
      const tokens = await server.connect(client.client_id, client.client_secret as string);
      assert.equal(await server.me(tokens.access_token), 200);
      const connections = S.ConnectionList.parse((await server.api('GET', `/admin/api/clients/${client.client_id}/connections`)).json()).connections;
      assert.equal(connections.length, 1);

      const destroyed = await server.api('DELETE', `/admin/api/clients/${client.client_id}`);
      assert.equal(destroyed.statusCode, 200, destroyed.body);
      assert.deepEqual(S.ClientDestroyed.parse(destroyed.json()).revoked, { connections: 1 });

      assert.equal(await server.me(tokens.access_token), 401, 'the access token stops working');
      const refresh = await tokenRequest(
        server.app,
        { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
        { authorization: basic(client.client_id, client.client_secret as string) },
      );
      assert.equal(refresh.statusCode, 401, 'the client can no longer authenticate');
      assert.equal(refresh.json().error, 'invalid_client');
      const resourceServer = await makeClient(server.store, { name: 'Platform API', isResourceServer: true, grantTypes: [], redirectUris: [] });
      const introspected = await server.app.inject({
        method: 'POST',
        url: '/oauth/introspect',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(resourceServer.client.id, resourceServer.secret) },
        payload: `token=${tokens.access_token}`,
      });
      assert.equal(introspected.statusCode, 200, introspected.body);
      assert.deepEqual(introspected.json(), { active: false }, 'introspection reports the token inactive');
      const authorize = await server.app.inject({ url: `/oauth/authorize?response_type=code&client_id=${client.client_id}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}` });
      assert.equal(authorize.statusCode, 400, 'users are told the app is no longer registered');

      assert.equal((await server.api('GET', `/admin/api/clients/${client.client_id}`)).statusCode, 404);
      assert.equal((await server.api('DELETE', `/admin/api/clients/${client.client_id}`)).statusCode, 404);
      assert.equal((await server.api('PATCH', `/admin/api/clients/${client.client_id}`, { name: 'Back' })).statusCode, 404);
      const grant = S.Connection.parse((await server.api('GET', `/admin/api/grants/${connections[0]?.grant_id}`)).json());
      assert.equal(grant.client_destroyed, true, 'the connection is kept, revoked, for reports');
      assert.equal(grant.revoked_reason, 'client_destroyed');
      assert.equal(grant.client_name, 'Doomed App');

      const [event] = await auditEvents(server.store, 'client.destroyed', client.client_id);
      assert.equal(event?.actor, server.tokenId);
      assert.equal(event?.ip, '127.0.0.1');
      assert.equal(event?.detail.revokedGrants, 1);
      assert.equal(event?.detail.name, 'Doomed App');
    });

    test('unknown and malformed ids are 404; a body that is not JSON is refused with 415 or 400', async () => {
      for (const url of ['/admin/api/clients/lkc_nosuchclient', '/admin/api/clients/not-a-client-id', '/admin/api/grants/grt_nope', '/admin/api/partners/nobody']) {
        const response = await server.api('GET', url);
        assert.equal(response.statusCode, 404, url);
        assert.equal(S.ApiError.parse(response.json()).error, 'not_found');
      }
      const form = await server.app.inject({
        method: 'POST',
        url: '/admin/api/clients',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'name=Form',
      });
      assert.equal(form.statusCode, 415);
      const broken = await server.app.inject({
        method: 'POST',
        url: '/admin/api/clients',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
        payload: '{"name": ',
      });
      assert.equal(broken.statusCode, 400);
      assert.equal(broken.json().error, 'invalid_request');
      const array = await server.api('POST', '/admin/api/clients', [1, 2]);
      assert.equal(array.statusCode, 400);
      assert.equal(array.json().fields['(body)'], 'The body must be a JSON object.');
      assert.equal((await server.api('GET', '/admin/api/nothing-here')).statusCode, 404);
    });
  });
}
