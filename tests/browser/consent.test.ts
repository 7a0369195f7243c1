/**
 * In a real browser, with JavaScript off: Deny, remembered consent, and
 * disconnecting an app from the connected-apps page, after which its token
 * stops working.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { makeUser, PASSWORD } from '../support/fixtures.js';
import { accessibilityProblems, browserSkip, codeFrom, screenshot, useBrowserServer } from '../support/browser.js';

describe('consent and connected apps in the browser', { skip: browserSkip() }, () => {
  const server = useBrowserServer();

  async function signIn(page: Page, email: string) {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  test('Deny sends the user back to the app with access_denied and creates no connection', async () => {
    const { user } = await makeUser(server.store, 'denier@example.com');
    const page = await server.newPage();
    await page.goto(server.authorizeUrl({ state: 'deny-me' }));
    await signIn(page, 'denier@example.com');
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.waitForURL(/\/demo\/callback\?/);
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('error'), 'access_denied');
    assert.equal(url.searchParams.get('state'), 'deny-me');
    assert.equal(url.searchParams.get('code'), null);
    await page.getByRole('heading', { name: 'The authorization failed' }).waitFor();
    await screenshot(page, '05-denied');
    assert.deepEqual(await server.store.listGrantsOfUser(user.id), []);
  });

  test('consent is remembered: the same scopes skip every page, more scopes ask again', async () => {
    await makeUser(server.store, 'returning@example.com');
    const page = await server.newPage();
    await page.goto(server.authorizeUrl({ scope: 'profile' }));
    await signIn(page, 'returning@example.com');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(/\/demo\/callback\?/);

    // Same browser, same scopes: straight back to the app with a new code, no page shown.
    const seen: string[] = [];
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) seen.push(new URL(frame.url()).pathname);
    });
    await page.goto(server.authorizeUrl({ scope: 'profile', state: 'again' }));
    await page.waitForURL(/\/demo\/callback\?/);
    assert.deepEqual(seen, ['/demo/callback'], 'no sign-in or consent page on the way');
    assert.equal(new URL(page.url()).searchParams.get('state'), 'again');
    assert.ok(codeFrom(page));

    // More scopes than approved: asked again, for what the app now wants.
    await page.goto(server.authorizeUrl({ scope: 'profile write' }));
    await page.getByRole('heading', { name: /^Allow Partner App to access/ }).waitFor();
    assert.ok(await page.getByText('Create and change data in the connected account').isVisible());
  });

  test('Disconnect on the connected-apps page stops the token at once; Sign out ends the session', async () => {
    await makeUser(server.store, 'leaver@example.com', [
      { name: 'Leaver Co', kind: 'company' },
      { name: 'Leaver Personal', kind: 'personal' },
    ]);
    const page = await server.newPage();
    await page.goto(server.authorizeUrl());
    await signIn(page, 'leaver@example.com');
    await page.getByRole('radio', { name: 'Leaver Co (company)' }).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(/\/demo\/callback\?/);
    const tokens = await server.redeem(codeFrom(page));
    assert.equal((await server.me(tokens.access_token)).status, 200);

    await page.goto(`${server.baseUrl}/account/apps`);
    await page.getByRole('heading', { name: 'Connected apps' }).waitFor();
    const company = page.getByRole('region', { name: 'Leaver Co (company)' });
    assert.ok(await company.getByRole('heading', { name: 'Partner App' }).isVisible());
    assert.ok(await company.getByText('See your name and email address').isVisible());
    assert.ok(await company.getByText(/Connected \d{1,2} \w{3} \d{4}/).isVisible());
    assert.ok(await company.getByText(/Last used/).isVisible());
    assert.ok(await page.getByRole('region', { name: 'Leaver Personal (personal)' }).getByText('No apps are connected to this account.').isVisible());
    assert.deepEqual(await accessibilityProblems(page), []);
    await screenshot(page, '06-connected-apps');

    await company.getByRole('button', { name: 'Disconnect Partner App from Leaver Co' }).click();
    await page.getByRole('status').getByText('Partner App was disconnected.').waitFor();
    assert.equal(await page.getByRole('button', { name: /^Disconnect/ }).count(), 0);
    await screenshot(page, '07-disconnected');

    const after = await server.me(tokens.access_token);
    assert.equal(after.status, 401, 'the access token stopped working');
    assert.equal(after.body.error, 'invalid_token');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.goto(`${server.baseUrl}/account/apps`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });
});
