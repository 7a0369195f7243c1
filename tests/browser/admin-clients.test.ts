/**
 * The admin console in a real browser (chromium through playwright-core, as
 * the other browser tests): an administrator registers an OAuth client and
 * sees its secret once, edits it (the Edit link and the Update button),
 * rotates its secret and destroys it behind a confirmation page, with
 * JavaScript off; with JavaScript on, the copy button copies the secret.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { registerUser } from '../../src/services/users.js';
import { accessibilityProblems, browserSkip, screenshot, useBrowserServer } from '../support/browser.js';
import { PASSWORD } from '../support/fixtures.js';

const ADMIN = 'operator@example.com';

describe('the admin console in the browser', { skip: browserSkip(), concurrency: false }, () => {
  const server = useBrowserServer();
  const contexts: BrowserContext[] = [];

  before(async () => {
    await registerUser(server.store, { email: ADMIN, password: PASSWORD, firstName: 'Olive', lastName: 'Operator', isAdmin: true }, Date.now());
    await registerUser(server.store, { email: 'member@example.com', password: PASSWORD }, Date.now());
  });
  after(async () => {
    await Promise.all(contexts.map((context) => context.close().catch(() => {})));
  });

  async function signIn(page: Page, email = ADMIN) {
    await page.goto(`${server.baseUrl}/admin/clients`);
    assert.equal(new URL(page.url()).pathname, '/login', 'signed out, the console sends you to sign in');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname !== '/login');
    assert.equal(new URL(page.url()).pathname, '/admin/clients', 'back on the console page after signing in');
  }

  /** Whether the token endpoint accepts these credentials (invalid_grant: it authenticated the client). */
  async function authenticates(clientId: string, secret: string): Promise<boolean> {
    const response = await fetch(`${server.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'lk_rt_none' }),
    });
    return response.status !== 401;
  }

  async function checks(page: Page, name: string) {
    assert.deepEqual(await accessibilityProblems(page), [], `${name}: accessibility`);
    await screenshot(page, name);
  }

  test('create a client, see its secret once, edit it, rotate the secret and destroy the client, without JavaScript', async () => {
    const page = await server.newPage();
    await signIn(page);
    await page.getByRole('heading', { name: 'OAuth clients' }).waitFor();
    await checks(page, 'admin-01-clients');

    await page.getByRole('link', { name: 'New OAuth client' }).click();
    await page.getByRole('heading', { name: 'New OAuth client' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Pipeline Gadget');
    await page.getByLabel('Redirect URLs').fill('http://www.my-redirect.example/cb');
    await page.getByRole('button', { name: 'Create client' }).click();
    await page.getByRole('alert').getByText('Please correct the fields marked below.').waitFor();
    assert.match((await page.locator('#field-redirect_uris-error').textContent()) ?? '', /Plain http is only allowed for loopback redirect URIs/);
    assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'Pipeline Gadget', 'what was typed is kept');
    await checks(page, 'admin-02-new-client-errors');

    await page.getByLabel('Redirect URLs').fill('https://gadgets.example/oauth/callback');
    await page.getByRole('checkbox', { name: /read Read the data/ }).check();
    await page.getByLabel('Access token lifetime (seconds)').fill('1800');
    await page.getByRole('button', { name: 'Create client' }).click();
    await page.getByRole('heading', { name: 'Pipeline Gadget is registered' }).waitFor();
    const clientId = ((await page.locator('#client-id').textContent()) ?? '').trim();
    const secret = ((await page.locator('#client-secret').textContent()) ?? '').trim();
    assert.match(clientId, /^lkc_/);
    assert.match(secret, /^lk_cs_/);
    assert.ok(await page.getByText('The secret is shown only now.').isVisible(), 'await page.getByText(\'The secret is shown only now.\').isVisible()');
    assert.equal(await page.getByRole('button', { name: /Copy/ }).first().isVisible(), false, 'without JavaScript there is no copy button; the value can be selected');
    await checks(page, 'admin-03-client-created');
    assert.equal(await authenticates(clientId, secret), true, 'the secret works');

    await page.getByRole('link', { name: 'Done' }).click();
    await page.getByRole('heading', { name: 'Pipeline Gadget' }).waitFor();
    assert.ok(!(await page.content()).includes(secret), 'the secret is never shown again');
    await checks(page, 'admin-04-client-detail');

    await page.getByRole('link', { name: 'OAuth clients' }).first().click();
    await page.getByRole('row', { name: /Pipeline Gadget/ }).getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: 'Edit Pipeline Gadget' }).waitFor();
    await checks(page, 'admin-05-edit-client');
    await page.getByLabel('Name', { exact: true }).fill('Pipeline Gadget 2');
    await page.getByLabel('Redirect URLs').fill('https://gadgets.example/oauth/callback\nhttp://127.0.0.1:8153/callback');
    await page.getByRole('button', { name: 'Update' }).click();
    await page.getByRole('status').getByText('Pipeline Gadget 2 was updated.').waitFor();
    const updated = await server.store.findClient(clientId);
    assert.equal(updated?.name, 'Pipeline Gadget 2');
    assert.deepEqual(updated?.redirectUris, ['https://gadgets.example/oauth/callback', 'http://127.0.0.1:8153/callback']);
    assert.equal(updated?.accessTokenTtlSeconds, 1800);

    await page.getByLabel('The old secret keeps working for').selectOption('3600');
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('heading', { name: 'New secret for Pipeline Gadget 2' }).waitFor();
    const rotated = ((await page.locator('#client-secret').textContent()) ?? '').trim();
    assert.notEqual(rotated, secret);
    assert.ok(await page.getByText(/The previous secret keeps working until/).isVisible(), 'await page.getByText(/The previous secret keeps working until/).isVisible()');
    await checks(page, 'admin-06-secret-rotated');
    assert.equal(await authenticates(clientId, secret), true, 'the old secret works during the overlap');
    assert.equal(await authenticates(clientId, rotated), true);

    await page.getByRole('link', { name: 'Done' }).click();
    await page.getByRole('link', { name: 'Destroy', exact: true }).click();
    await page.getByRole('heading', { name: 'Destroy Pipeline Gadget 2?' }).waitFor();
    assert.ok(await server.store.findClient(clientId), 'the confirmation page alone destroys nothing');
    await checks(page, 'admin-07-destroy-confirm');
    await page.getByRole('button', { name: 'Destroy' }).click();
    await page.getByRole('status').getByText('Pipeline Gadget 2 was destroyed.', { exact: false }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Pipeline Gadget 2' }).count(), 0);
    assert.equal(await server.store.findClient(clientId), undefined);
    assert.equal(await authenticates(clientId, rotated), false, 'a destroyed client cannot authenticate');
    await checks(page, 'admin-08-client-destroyed');
  });

  test('with JavaScript on, the copy button copies the secret (the script comes from /assets, allowed by the CSP)', async () => {
    const context = await server.browser.newContext({ javaScriptEnabled: true, viewport: { width: 1100, height: 820 }, permissions: ['clipboard-read', 'clipboard-write'] });
    contexts.push(context);
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content.Security.Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
    await signIn(page);
    await page.goto(`${server.baseUrl}/admin/clients/new`);
    await page.getByLabel('Name', { exact: true }).fill('Copy Test');
    await page.getByLabel('Redirect URLs').fill('https://copy.example/cb');
    await page.getByRole('button', { name: 'Create client' }).click();
    await page.getByRole('heading', { name: 'Copy Test is registered' }).waitFor();
    const secret = ((await page.locator('#client-secret').textContent()) ?? '').trim();
    const copy = page.getByRole('button', { name: 'Copy Secret' });
    await copy.waitFor({ state: 'visible' });
    await copy.click();
    await page.getByText('Copied to the clipboard.').first().waitFor();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), secret);
    assert.deepEqual(violations, [], 'no CSP violation');
    await checks(page, 'admin-09-copy-with-javascript');
  });

  test('partners, users, the audit log, scopes and API tokens pass the same checks as the user pages', async () => {
    const partner = await server.store.createPartner({ name: 'Acme Learning', partnerPortalId: 'acme' }, Date.now());
    await server.store.updateClient(server.client.id, { partnerId: partner.id }, Date.now());
    await server.store.createAccount({ name: 'Made via Acme', kind: 'portal', partnerId: partner.id }, Date.now());
    const member = await server.store.findUserByEmail('member@example.com');
    const page = await server.newPage();
    await signIn(page);
    for (const [path, name] of [
      ['/admin/partners', 'admin-12-partners'],
      [`/admin/partners/${partner.id}`, 'admin-13-partner-report'],
      ['/admin/users?q=example', 'admin-14-users'],
      [`/admin/users/${member?.id}`, 'admin-15-user'],
      ['/admin/audit', 'admin-16-audit'],
      ['/admin/scopes', 'admin-17-scopes'],
      ['/admin/tokens', 'admin-18-tokens'],
    ] as const) {
      const response = await page.goto(`${server.baseUrl}${path}`);
      assert.equal(response?.status(), 200, path);
      await checks(page, name);
    }
    await page.getByLabel('Name', { exact: true }).fill('reporting');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByRole('heading', { name: 'Token reporting created' }).waitFor();
    assert.match(((await page.locator('#admin-token').textContent()) ?? '').trim(), /^lk_adm_/);
    await checks(page, 'admin-19-token-created');
  });

  test('a signed-in user who is not an administrator is refused; the console fits a phone', async () => {
    const member = await server.newPage();
    await signIn(member, 'member@example.com');
    await member.getByRole('heading', { name: 'Administrators only' }).waitFor();
    const response = await member.goto(`${server.baseUrl}/admin/clients`);
    assert.equal(response?.status(), 403);

    const phone = await server.newPage({ phone: true });
    await signIn(phone);
    for (const [path, name] of [
      ['/admin/clients', 'admin-10-phone-clients'],
      ['/admin/clients/new', 'admin-11-phone-new-client'],
    ] as const) {
      await phone.goto(`${server.baseUrl}${path}`);
      await checks(phone, name);
    }
  });
});
