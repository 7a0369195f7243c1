/**
 * The admin console at /admin, through HTTP (the browser tests walk it in
 * chromium): admins only, CSRF on every form, its own CSP, and each page:
 * OAuth clients (new with the secret shown once, edit, rotate, destroy),
 * partners with the report and CSV export, users (lock, unlock, revoke a
 * connection), the audit log, scopes and admin API tokens. Every action is
 * audited with the admin's user id and address.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Agent, csrfFrom, location } from '../support/agent.js';
import { ADMIN_EMAIL, shownValue, submitForm, useAdminServer } from '../support/admin.js';
import { dialects } from '../support/databases.js';
import { makeClient, makeUser, PASSWORD, REDIRECT_URI } from '../support/fixtures.js';
import { auditEvents, formsOf, randomIp } from '../support/web.js';

const ADMIN_PAGES = ['/admin/clients', '/admin/clients/new', '/admin/partners', '/admin/users', '/admin/audit', '/admin/scopes', '/admin/tokens'];

for (const dialect of await dialects()) {
  describe(`admin console (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useAdminServer(dialect);
    let seq = 0;
    const unique = (prefix: string) => `${prefix}-${dialect.name}-${++seq}`;

    /** Submits the New OAuth client form. */
    async function createClient(agent: Agent, fields: Record<string, string>) {
      return submitForm(agent, '/admin/clients/new', '/admin/clients', {
        redirect_uris: REDIRECT_URI,
        'scope.profile': 'on',
        'grant_type.authorization_code': 'on',
        'grant_type.refresh_token': 'on',
        client_type: 'confidential',
        ...fields,
      });
    }

    test('only admins: signed out goes to sign in, a user who is not an admin gets 403, a locked admin is signed out', async () => {
      const anonymous = new Agent(server.app);
      for (const url of [...ADMIN_PAGES, '/admin', `/admin/clients/${server.client.id}`]) {
        assert.equal(location(await anonymous.get(url)), '/login', url);
      }
      assert.equal(location(await anonymous.postForm('/admin/clients', { name: 'X' })), '/login');

      const user = await server.signedIn('ada@example.com');
      for (const url of ADMIN_PAGES) {
        const response = await user.get(url);
        assert.equal(response.statusCode, 403, url);
        assert.match(response.body, /Administrators only/);
        assert.ok(!response.body.includes(server.client.id), 'nothing of the console leaks');
      }
      const page = await user.get('/account/apps');
      const post = await user.postForm('/admin/clients', { csrf_token: csrfFrom(page.body), name: 'Sneaky', redirect_uris: REDIRECT_URI });
      assert.equal(post.statusCode, 403, 'a valid CSRF token does not make a user an admin');
      assert.equal((await server.store.listClients()).some((client) => client.name === 'Sneaky'), false);

      const { user: other } = await makeUser(server.store, `${unique('admin2')}@example.com`);
      await server.store.db.updateTable('users').set({ is_admin: 1 }).where('id', '=', other.id).execute();
      const otherAgent = await server.signedIn(other.email);
      assert.equal((await otherAgent.get('/admin/clients')).statusCode, 200);
      await server.store.admin.setUserLocked(other.id, Date.now(), Date.now());
      assert.equal(location(await otherAgent.get('/admin/clients')), '/login');

      const admin = await server.signedIn();
      assert.equal(location(await admin.get('/admin')), '/admin/clients');
    });

    test('after signing in, the admin is back on the console page that sent them to sign in; nothing else is followed', async () => {
      const agent = new Agent(server.app);
      assert.equal(location(await agent.get(`/admin/users/${server.admin.id}?x=1`)), '/login');
      const login = await agent.get('/login');
      const signedIn = await agent.postForm('/login', { csrf_token: csrfFrom(login.body), email: ADMIN_EMAIL, password: PASSWORD });
      assert.equal(location(signedIn), `/admin/users/${server.admin.id}`);
      assert.equal(agent.cookies.has('latchkey_return_to'), false, 'used once');

      const forged = new Agent(server.app);
      forged.cookies.set('latchkey_return_to', encodeURIComponent('https://evil.example/admin'));
      const page = await forged.get('/login');
      const response = await forged.postForm('/login', { csrf_token: csrfFrom(page.body), email: ADMIN_EMAIL, password: PASSWORD });
      assert.equal(location(response), '/account', 'only console paths are followed');
    });

    test("every form carries the CSRF token; a post without it, or with another session's, changes nothing", async () => {
      const admin = await server.signedIn();
      for (const url of [...ADMIN_PAGES, `/admin/clients/${server.client.id}`, `/admin/clients/${server.client.id}/edit`, `/admin/clients/${server.client.id}/destroy`]) {
        const page = await admin.get(url);
        assert.equal(page.statusCode, 200, url);
        for (const form of formsOf(page.body).filter((entry) => entry.method === 'post')) {
          assert.ok(form.csrf, `${url}: the form to ${form.action} has no CSRF token`);
        }
      }
      const other = await server.signedIn();
      const foreign = csrfFrom((await other.get('/admin/clients/new')).body);
      for (const token of [undefined, '', foreign]) {
        const response = await admin.postForm(`/admin/clients/${server.client.id}/destroy`, token === undefined ? {} : { csrf_token: token });
        assert.equal(response.statusCode, 403);
      }
      assert.ok(await server.store.findClient(server.client.id), 'the client was not destroyed');
    });

    test('admin pages may run the console script from /assets (no inline script); the user pages still run none', async () => {
      const admin = await server.signedIn();
      for (const url of ADMIN_PAGES) {
        const page = await admin.get(url);
        const csp = String(page.headers['content-security-policy']);
        assert.match(csp, /script-src 'self'/, url);
        assert.match(csp, /form-action 'self'/, url);
        assert.match(csp, /frame-ancestors 'none'/, url);
        assert.equal(page.headers['cache-control'], 'no-store', url);
        assert.ok(!/<script(?![^>]*\bsrc=)/.test(page.body), `${url} has an inline script`);
        assert.ok(!/\son[a-z]+=/.test(page.body), `${url} has an inline event handler`);
        assert.match(page.body, /<link rel="stylesheet" href="\/assets\/latchkey.css">/, 'the one stylesheet');
      }
      const script = await server.app.inject({ url: '/assets/latchkey-admin.js' });
      assert.equal(script.statusCode, 200);
      assert.match(String(script.headers['content-type']), /^text\/javascript/);
      assert.match(script.body, /data-copy/);
      const login = await new Agent(server.app).get('/login');
      assert.ok(!String(login.headers['content-security-policy']).includes('script-src'), 'user pages allow no script');
    });

    test('New OAuth client: the summary shows the Client ID and the Secret once, with a copy button; only its hash is kept', async () => {
      const admin = await server.signedIn();
      const form = await admin.get('/admin/clients/new');
      for (const label of ['Name', 'Redirect URLs', 'Allowed scopes', 'Grant types', 'Client type', 'Direct login allowed (legacy client)', 'Access token lifetime (seconds)', 'Refresh token lifetime (seconds)', 'Partner']) {
        assert.ok(form.body.includes(label), `the form has ${label}`);
      }
      const name = unique('Gadget Dashboard');
      const created = await createClient(admin, { name, 'scope.read': 'on', access_token_ttl: '900' });
      assert.equal(created.statusCode, 201, created.body.slice(0, 500));
      const clientId = shownValue(created.body, 'client-id');
      const secret = shownValue(created.body, 'client-secret');
      assert.match(clientId ?? '', /^lkc_/);
      assert.match(secret ?? '', /^lk_cs_/);
      assert.match(created.body, /<button type="button" class="secondary copy" data-copy="client-secret" hidden>Copy/);
      assert.match(created.body, /The secret is shown only now/);
      assert.match(created.body, /<script src="\/assets\/latchkey-admin.js" defer><\/script>/);

      const client = await server.store.findClient(clientId as string);
      assert.equal(client?.name, name);
      assert.deepEqual(client?.scopes, ['profile', 'read']);
      assert.equal(client?.accessTokenTtlSeconds, 900);
      for (const url of [`/admin/clients/${clientId}`, `/admin/clients/${clientId}/edit`, '/admin/clients']) {
        const page = await admin.get(url);
        assert.ok(page.body.includes(clientId as string), url);
        assert.ok(!page.body.includes(secret as string), `${url} shows the secret again`);
        assert.ok(!page.body.includes('lk_cs_'), url);
      }
      const [event] = await auditEvents(server.store, 'client.created', clientId);
      assert.equal(event?.actor, server.admin.id, 'the admin is the actor');
      assert.equal(event?.ip, '127.0.0.1');
      assert.equal(event?.detail.via, 'console');
    });

    test('the form shows every problem next to its field, keeps what was typed, and creates nothing', async () => {
      const admin = await server.signedIn();
      const before = (await server.store.listClients()).length;
      const response = await createClient(admin, {
        name: '',
        redirect_uris: 'https://ok.example/cb\nhttp://partner.example/cb',
        access_token_ttl: 'soon',
        legacy: 'on',
      });
      assert.equal(response.statusCode, 400);
      assert.match(response.body, /Please correct the fields marked below/);
      assert.match(response.body, /id="field-access_token_ttl"[^>]*aria-invalid="true"/);
      const again = await createClient(admin, { name: ' ', redirect_uris: 'https://ok.example/cb\nhttp://partner.example/cb\nhttps://x.example/#frag', legacy: 'on' });
      assert.equal(again.statusCode, 400);
      assert.match(again.body, /id="field-name"[^>]*aria-invalid="true"/);
      assert.match(again.body, /<p class="field-error" id="field-name-error">name must be 1 to 200 characters<\/p>/);
      assert.match(again.body, /redirect URI http:\/\/partner\.example\/cb: Plain http is only allowed for loopback redirect URIs/);
      assert.match(again.body, /id="legacy-error">new clients may not use direct login/);
      assert.match(again.body, /https:\/\/ok\.example\/cb\nhttp:\/\/partner\.example\/cb/, 'the redirect URLs are kept');
      assert.equal((await server.store.listClients()).length, before);

      const legacy = await createClient(admin, { name: unique('Old Integration'), legacy: 'on', allow_new_legacy: 'on' });
      assert.equal(legacy.statusCode, 201, 'the console checkbox is the explicit override');
      const clientId = shownValue(legacy.body, 'client-id') as string;
      assert.equal((await server.store.findClient(clientId))?.isLegacy, true);
      assert.equal((await auditEvents(server.store, 'client.created', clientId))[0]?.detail.legacyOverride, true);

      const publicClient = await createClient(admin, { name: unique('Mobile'), client_type: 'public' });
      assert.equal(publicClient.statusCode, 201);
      assert.equal(shownValue(publicClient.body, 'client-secret'), undefined, 'a public client has no secret');
    });

    test('Edit link and Update button: the changes are saved and audited; the legacy flag cannot be newly given without the override', async () => {
      const admin = await server.signedIn();
      const { client } = await makeClient(server.store, { name: unique('Editable') });
      const list = await admin.get(`/admin/clients?q=${encodeURIComponent(client.name)}`);
      assert.match(list.body, new RegExp(`<a href="/admin/clients/${client.id}/edit">Edit`));
      const edit = await admin.get(`/admin/clients/${client.id}/edit`);
      assert.match(edit.body, /<button type="submit">Update<\/button>/);
      const fields = {
        name: 'Renamed App',
        redirect_uris: 'https://renamed.example/cb\nhttp://localhost:8080/cb',
        'scope.profile': 'on',
        'scope.write': 'on',
        'grant_type.authorization_code': 'on',
        refresh_token_ttl: '3600',
        access_token_ttl: '',
      };
      const updated = await submitForm(admin, `/admin/clients/${client.id}/edit`, `/admin/clients/${client.id}`, fields);
      assert.equal(location(updated), `/admin/clients/${client.id}?done=updated`);
      const after = await server.store.findClient(client.id);
      assert.equal(after?.name, 'Renamed App');
      assert.deepEqual(after?.redirectUris, ['https://renamed.example/cb', 'http://localhost:8080/cb']);
      assert.deepEqual(after?.scopes, ['profile', 'write']);
      assert.deepEqual(after?.grantTypes, ['authorization_code']);
      assert.equal(after?.refreshTokenTtlSeconds, 3600);
      const detail = await admin.get(location(updated));
      assert.match(detail.body, /Renamed App was updated\./);
      const [event] = await auditEvents(server.store, 'client.updated', client.id);
      assert.equal(event?.actor, server.admin.id);

      const legacy = await submitForm(admin, `/admin/clients/${client.id}/edit`, `/admin/clients/${client.id}`, { ...fields, legacy: 'on' });
      assert.equal(legacy.statusCode, 400);
      assert.match(legacy.body, /legacy flag can only be kept/);
      assert.equal((await server.store.findClient(client.id))?.isLegacy, false);
      const bad = await submitForm(admin, `/admin/clients/${client.id}/edit`, `/admin/clients/${client.id}`, { ...fields, redirect_uris: 'https://x.example/cb#top' });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /must not contain a fragment/);
      assert.equal((await admin.get('/admin/clients/lkc_nothere/edit')).statusCode, 404);
    });

    test('Rotate secret: a new secret shown once; the old one keeps working for the chosen overlap', async () => {
      const admin = await server.signedIn();
      const { client, secret } = await makeClient(server.store, { name: unique('Rotated') });
      const detail = await admin.get(`/admin/clients/${client.id}`);
      assert.match(detail.body, /<option value="86400" selected>24 hours<\/option>/, "the server's overlap is the default");
      const rotated = await submitForm(admin, `/admin/clients/${client.id}`, `/admin/clients/${client.id}/rotate-secret`, { overlap_seconds: '3600' });
      assert.equal(rotated.statusCode, 200, rotated.body.slice(0, 300));
      const fresh = shownValue(rotated.body, 'client-secret');
      assert.match(fresh ?? '', /^lk_cs_/);
      assert.notEqual(fresh, secret);
      assert.match(rotated.body, /The previous secret keeps working until/);
      assert.match((await admin.get(`/admin/clients/${client.id}`)).body, /<dt>Secrets<\/dt><dd>2 working \u00b7 the previous one stops working <time/);
      const hashes = (await server.store.findClientWithSecrets(client.id, server.clock.now()))?.secretHashes;
      assert.equal(hashes?.length, 2, 'both secrets work during the overlap');
      assert.equal((await server.store.findClientWithSecrets(client.id, server.clock.now() + 3_700_000))?.secretHashes.length, 1);
      const [event] = await auditEvents(server.store, 'client.secret_rotated', client.id);
      assert.equal(event?.actor, server.admin.id);
      assert.equal(event?.detail.overlapSeconds, 3600);
      const bad = await submitForm(admin, `/admin/clients/${client.id}`, `/admin/clients/${client.id}/rotate-secret`, { overlap_seconds: 'forever' });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /the overlap must be a whole number of seconds/);
    });

    test('Destroy: a confirmation page first (GET changes nothing), then the client and its connections are gone', async () => {
      const admin = await server.signedIn();
      const { client, secret } = await makeClient(server.store, { name: unique('Destroyable') });
      const tokens = await server.connect(client.id, secret);
      const confirm = await admin.get(`/admin/clients/${client.id}/destroy`);
      assert.equal(confirm.statusCode, 200);
      assert.match(confirm.body, /its 1 live connection is revoked/);
      assert.match(confirm.body, /<button type="submit" class="danger">Destroy<\/button>/);
      assert.ok(await server.store.findClient(client.id), 'the confirmation page destroys nothing');
      const destroyed = await admin.postForm(`/admin/clients/${client.id}/destroy`, { csrf_token: csrfFrom(confirm.body) });
      assert.equal(location(destroyed), `/admin/clients?destroyed=${client.id}`);
      const list = await admin.get(location(destroyed));
      assert.match(list.body, /was destroyed\. Its connections were revoked and its tokens no longer work\./);
      assert.ok(!list.body.includes(`href="/admin/clients/${client.id}"`), 'the destroyed client is no longer listed');
      assert.equal(await server.store.findClient(client.id), undefined);
      assert.equal(await server.me(tokens.access_token), 401);
      const [event] = await auditEvents(server.store, 'client.destroyed', client.id);
      assert.equal(event?.actor, server.admin.id);
      assert.equal(event?.detail.revokedGrants, 1);
      assert.equal((await admin.get(`/admin/clients/${client.id}`)).statusCode, 404);
    });

    test('partners: create, the monthly report with CSV export, the clients, accounts and connections, rename', async () => {
      const admin = await server.signedIn();
      const portal = unique('hooli');
      const bad = await submitForm(admin, '/admin/partners', '/admin/partners', { name: 'Hooli', partner_portal_id: 'not valid!' });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /partner_portal_id must be 1 to 100 letters/);
      const created = await submitForm(admin, '/admin/partners', '/admin/partners', { name: 'Hooli', partner_portal_id: portal });
      const partner = await server.store.findPartnerByPortalId(portal);
      assert.ok(partner, 'partner');
      assert.equal(location(created), `/admin/partners?created=${partner.id}`);
      const { client, secret } = await makeClient(server.store, { name: unique('Hooli Connect') });
      await server.store.updateClient(client.id, { partnerId: partner.id }, Date.now());
      await server.connect(client.id, secret);
      await server.store.createAccount({ name: 'Made via Hooli', kind: 'portal', partnerId: partner.id }, server.clock.now());

      const page = await admin.get(`/admin/partners/${partner.id}`);
      assert.equal(page.statusCode, 200);
      const month = new Date(server.clock.now()).toISOString().slice(0, 7);
      assert.match(page.body, new RegExp(`<tr><th scope="row">${month}</th><td>1</td><td>1</td></tr>`));
      assert.match(page.body, /Made via Hooli/);
      assert.ok(page.body.includes(client.name), 'page.body.includes(client.name)');
      const csvLink = new RegExp(`href="(/admin/partners/${partner.id}/export\\.csv\\?kind=connections&amp;from=[0-9-]+&amp;to=[0-9-]+)"`).exec(page.body)?.[1];
      assert.ok(csvLink, 'a CSV export link');
      const csv = await admin.get(csvLink.replace(/&amp;/g, '&'));
      assert.equal(csv.statusCode, 200);
      assert.match(String(csv.headers['content-type']), /^text\/csv/);
      assert.match(String(csv.headers['content-disposition']), /^attachment; filename=/);
      assert.equal(csv.body.trimEnd().split('\r\n').length, 2);
      const ranged = await admin.get(`/admin/partners/${partner.id}?from=2024-13&to=x`);
      assert.equal(ranged.statusCode, 400);
      assert.match(ranged.body, /Showing the last twelve months/);

      const renamed = await submitForm(admin, `/admin/partners/${partner.id}`, `/admin/partners/${partner.id}`, { name: 'Hooli XYZ', partner_portal_id: portal });
      assert.equal(location(renamed), `/admin/partners/${partner.id}?done=updated`);
      assert.equal((await server.store.findPartner(partner.id))?.name, 'Hooli XYZ');
      const list = await admin.get('/admin/partners');
      assert.match(list.body, /Hooli XYZ/);
      assert.equal((await auditEvents(server.store, 'partner.created', partner.id))[0]?.actor, server.admin.id);
    });

    test('users: find a user, see their accounts and apps, revoke a connection, lock and unlock; an admin cannot lock themselves', async () => {
      const admin = await server.signedIn();
      const email = `${unique('jane')}@example.com`;
      const { user } = await makeUser(server.store, email, [
        { name: 'Jane Co', kind: 'company' },
        { name: 'Jane', kind: 'participant' },
      ]);
      const tokens = await server.connect(server.client.id, server.secret, email);
      const list = await admin.get(`/admin/users?q=${encodeURIComponent(email.slice(0, 8))}`);
      assert.match(list.body, new RegExp(`<a href="/admin/users/${user.id}">${email}</a>`));
      const page = await admin.get(`/admin/users/${user.id}`);
      assert.match(page.body, /Jane Co/);
      assert.match(page.body, /Partner App/);

      const grant = (await server.store.listGrantsOfUser(user.id))[0];
      assert.ok(grant, 'grant');
      const revoked = await submitForm(admin, `/admin/users/${user.id}`, `/admin/grants/${grant.id}/revoke`, { return_to: `/admin/users/${user.id}` });
      assert.equal(location(revoked), `/admin/users/${user.id}?done=revoked`);
      assert.equal(await server.me(tokens.access_token), 401);
      assert.equal((await auditEvents(server.store, 'grant.revoked', grant.id))[0]?.actor, server.admin.id);
      const offsite = await submitForm(admin, `/admin/users/${user.id}`, `/admin/grants/${grant.id}/revoke`, { return_to: 'https://evil.example/' });
      assert.equal(location(offsite), `/admin/users/${user.id}?done=revoked`, 'never redirects off the console');

      const locked = await submitForm(admin, `/admin/users/${user.id}`, `/admin/users/${user.id}/lock`, { reason: 'chargeback fraud' });
      assert.equal(location(locked), `/admin/users/${user.id}?done=locked`);
      assert.notEqual((await server.store.findUser(user.id))?.lockedAt, null);
      const lockedPage = await admin.get(location(locked));
      assert.match(lockedPage.body, /is locked and signed out everywhere/);
      assert.match(lockedPage.body, /Unlock user/);
      const [event] = await auditEvents(server.store, 'user.locked', user.id);
      assert.equal(event?.actor, server.admin.id);
      assert.equal(event?.detail.reason, 'chargeback fraud');
      const unlocked = await submitForm(admin, `/admin/users/${user.id}`, `/admin/users/${user.id}/unlock`, {});
      assert.equal(location(unlocked), `/admin/users/${user.id}?done=unlocked`);
      assert.equal((await server.store.findUser(user.id))?.lockedAt, null);

      const self = await admin.get(`/admin/users/${server.admin.id}`);
      assert.match(self.body, /you cannot lock yourself out/);
      const attempt = await admin.postForm(`/admin/users/${server.admin.id}/lock`, { csrf_token: csrfFrom(self.body) });
      assert.equal(attempt.statusCode, 400);
      assert.equal((await server.store.findUser(server.admin.id))?.lockedAt, null);
      assert.equal((await admin.get('/admin/users/usr_nobody')).statusCode, 404);
    });

    test('the audit log shows who, when and from where, and filters by type, actor and time', async () => {
      const admin = await server.signedIn();
      const ip = randomIp();
      const login = await new Agent(server.app).get('/login');
      await server.app.inject({
        method: 'POST',
        url: '/login',
        remoteAddress: ip,
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: String(login.headers['set-cookie']).split(';')[0] },
        payload: new URLSearchParams({ csrf_token: csrfFrom(login.body), email: 'ada@example.com', password: 'not the password' }).toString(),
      });
      const page = await admin.get('/admin/audit?type=signin.*');
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /<code>signin\.failed<\/code>/);
      assert.ok(page.body.includes(ip), 'from where');
      assert.ok(!page.body.includes('<code>client.created</code>'), 'filtered by family');
      await submitForm(admin, '/admin/partners', '/admin/partners', { name: 'Audited Partner', partner_portal_id: unique('audited') });
      const mine = await admin.get(`/admin/audit?actor=${server.admin.id}&type=partner.created`);
      assert.match(mine.body, /<code>partner\.created<\/code>/);
      assert.ok(mine.body.includes(`<a href="/admin/users/${server.admin.id}">root@example.com</a>`), 'who, by email');
      assert.ok(mine.body.includes('Audited Partner'), 'the subject by name');
      assert.ok(!mine.body.includes('<code>signin.failed</code>'), 'filtered by actor and type');
      const old = await admin.get('/admin/audit?to=2000-01-01');
      assert.match(old.body, /No events/);
      const bad = await admin.get('/admin/audit?from=tomorrow');
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /Use a date such as 2025-03-01/);
    });

    test('scopes: add, edit the consent description and default, delete an unused one', async () => {
      const admin = await server.signedIn();
      const name = `${unique('reports')}:read`;
      const missing = await submitForm(admin, '/admin/scopes', '/admin/scopes', { name, description: '' });
      assert.equal(missing.statusCode, 400);
      assert.match(missing.body, /users read it on the consent page/);
      assert.equal(location(await submitForm(admin, '/admin/scopes', '/admin/scopes', { name, description: 'See your reports' })), '/admin/scopes?done=saved');
      const editing = await admin.get(`/admin/scopes?edit=${encodeURIComponent(name)}`);
      assert.match(editing.body, /value="See your reports"/);
      await admin.postForm('/admin/scopes', { csrf_token: csrfFrom(editing.body), name, description: 'See and export your reports', default: 'on' });
      assert.deepEqual((await server.store.listScopes()).find((scope) => scope.name === name), { name, description: 'See and export your reports', isDefault: true });
      const inUse = await submitForm(admin, '/admin/scopes', '/admin/scopes/delete', { name: 'profile' });
      assert.equal(inUse.statusCode, 400);
      assert.match(inUse.body, /still allowed to/);
      assert.equal(location(await submitForm(admin, '/admin/scopes', '/admin/scopes/delete', { name })), '/admin/scopes?done=deleted');
      assert.equal((await server.store.listScopes()).some((scope) => scope.name === name), false);
      assert.equal((await auditEvents(server.store, 'scope.deleted', name))[0]?.actor, server.admin.id);
    });

    test('API tokens: created in the console and shown once, usable on the API, revoked from the console', async () => {
      const admin = await server.signedIn();
      const created = await submitForm(admin, '/admin/tokens', '/admin/tokens', { name: 'nightly export', expires_in_days: '7' });
      assert.equal(created.statusCode, 201);
      const token = shownValue(created.body, 'admin-token');
      assert.match(token ?? '', /^lk_adm_/);
      assert.match(created.body, /The token is shown only now/);
      assert.equal((await server.api('GET', '/admin/api/scopes', undefined, token)).statusCode, 200);
      const list = await admin.get('/admin/tokens');
      assert.ok(!list.body.includes(token as string), 'shown once');
      const row = (await server.store.admin.listAdminTokens()).find((entry) => entry.name === 'nightly export');
      assert.equal(row?.createdBy, server.admin.id);
      const bad = await submitForm(admin, '/admin/tokens', '/admin/tokens', { name: '', expires_in_days: '0' });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /id="field-name-error"/);
      assert.match(bad.body, /id="field-expires_in_days-error"/);
      const revoked = await submitForm(admin, '/admin/tokens', `/admin/tokens/${row?.id}/revoke`, {});
      assert.equal(location(revoked), '/admin/tokens?done=revoked');
      assert.equal((await server.api('GET', '/admin/api/scopes', undefined, token)).statusCode, 401);
    });
  });
}
