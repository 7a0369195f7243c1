/**
 * In a real browser, with JavaScript off: a new user connects an app through
 * sign-up, and an existing user with three accounts chooses one. Screenshots
 * of each page go to screenshots/.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeUser, PASSWORD } from '../support/fixtures.js';
import { accessibilityProblems, browserSkip, codeFrom, screenshot, tabOrder, useBrowserServer } from '../support/browser.js';

describe('connecting an app in the browser', { skip: browserSkip() }, () => {
  const server = useBrowserServer();

  test('a new user signs up inside the flow, consents, and the app gets a token for the new account', async () => {
    const page = await server.newPage();
    await page.goto(server.authorizeUrl());
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.title(), 'Sign in · Latchkey');
    assert.ok(await page.getByText('to continue to Partner App').isVisible());
    assert.deepEqual(await tabOrder(page, 4), ['Email', 'Password', 'Sign in', 'Create account'], 'focus order follows the page');
    assert.deepEqual(await accessibilityProblems(page), []);
    await screenshot(page, '01-sign-in');

    await page.getByRole('link', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Create your account' }).waitFor();
    assert.deepEqual(await tabOrder(page, 7), ['First name', 'Last name', 'Email', 'Password', 'Account name', 'Create account', 'Sign in']);
    await page.getByLabel('First name').fill('Grace');
    await page.getByLabel('Last name').fill('Hopper');
    await page.getByLabel('Email').fill('grace@example.com');
    await page.getByLabel('Password').fill('short');
    await page.getByLabel('Account name').fill('Compilers Ltd');
    // The browser's own check (minlength) stops the form before it is sent; submit past it to see the server's.
    assert.equal(await page.getByLabel('Password').evaluate((input) => (input as { validity: { valid: boolean } }).validity.valid), false);
    await page.getByRole('button', { name: 'Create account' }).evaluate((button) => (button as { form: { noValidate: boolean } }).form.noValidate = true);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('Use at least 10 characters.').waitFor();
    assert.ok(await page.getByRole('alert').isVisible());
    assert.equal(await page.getByLabel('First name').inputValue(), 'Grace', 'what was typed is kept');
    assert.equal(await page.getByLabel('Password').inputValue(), '', 'except the password');
    assert.deepEqual(await accessibilityProblems(page), []);
    await screenshot(page, '02-sign-up-error');

    await page.getByLabel('Password').fill('a long and unusual passphrase');
    await screenshot(page, '02-sign-up');
    await page.getByRole('button', { name: 'Create account' }).click();

    await page.getByRole('heading', { name: 'Allow Partner App to access Compilers Ltd?' }).waitFor();
    assert.ok(await page.getByText('See your name and email address').isVisible());
    assert.ok(await page.getByText('Read the data of the connected account').isVisible());
    assert.ok(await page.getByText('grace@example.com').first().isVisible());
    assert.deepEqual(await accessibilityProblems(page), []);
    await screenshot(page, '03-consent');
    await page.getByRole('button', { name: 'Allow' }).click();

    await page.waitForURL(/\/demo\/callback\?/);
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('state'), 'browser');
    const tokens = await server.redeem(codeFrom(page));
    const me = await server.me(tokens.access_token);
    assert.equal(me.status, 200);
    assert.deepEqual(me.body.user && { email: (me.body.user as { email: string }).email }, { email: 'grace@example.com' });
    assert.deepEqual(me.body.account && { name: (me.body.account as { name: string }).name, kind: (me.body.account as { kind: string }).kind }, {
      name: 'Compilers Ltd',
      kind: 'portal',
    });
  });

  test('an existing user with three accounts chooses one, and the token is bound to it', async () => {
    await makeUser(server.store, 'pat@example.com', [
      { name: 'Pat Participant', kind: 'participant' },
      { name: 'Widgets Inc', kind: 'company' },
      { name: 'Pat Advisory', kind: 'advisor' },
    ]);
    const page = await server.newPage();
    await page.goto(server.authorizeUrl({ scope: 'profile write' }));
    await page.getByLabel('Email').fill('pat@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.getByRole('heading', { name: 'Which account do you want to connect?' }).waitFor();
    const radios = page.getByRole('radio');
    assert.equal(await radios.count(), 3);
    assert.ok(await page.getByRole('radio', { name: 'Pat Participant (participant)' }).isVisible());
    assert.ok(await page.getByRole('radio', { name: 'Pat Advisory (advisor)' }).isChecked(), 'the first is preselected');
    assert.deepEqual(await accessibilityProblems(page), []);
    await page.getByRole('radio', { name: 'Widgets Inc (company)' }).check();
    await screenshot(page, '04-choose-account');
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.getByRole('heading', { name: 'Allow Partner App to access Widgets Inc?' }).waitFor();
    assert.ok(await page.getByText('Create and change data in the connected account').isVisible());
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(/\/demo\/callback\?/);
    const me = await server.me((await server.redeem(codeFrom(page))).access_token);
    assert.equal((me.body.account as { name: string }).name, 'Widgets Inc');
    assert.equal((me.body.account as { kind: string }).kind, 'company');
  });

  test('on a phone-sized screen every page fits without sideways scrolling and passes the checks', async () => {
    await makeUser(server.store, 'phone@example.com', [
      { name: 'A very long company name that has to wrap somewhere', kind: 'company' },
      { name: 'Phone Personal', kind: 'personal' },
    ]);
    const page = await server.newPage({ phone: true });
    await page.goto(server.authorizeUrl());
    assert.deepEqual(await accessibilityProblems(page), []);
    await screenshot(page, 'phone-01-sign-in');
    await page.getByLabel('Email').fill('phone@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Which account do you want to connect?' }).waitFor();
    assert.deepEqual(await accessibilityProblems(page), []);
    await screenshot(page, 'phone-02-choose-account');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Allow' }).waitFor();
    assert.deepEqual(await accessibilityProblems(page), []);
    await screenshot(page, 'phone-03-consent');
    const width = await page.getByRole('button', { name: 'Allow' }).boundingBox();
    assert.ok(width && width.height >= 44, 'buttons are large enough to tap');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(/\/demo\/callback\?/);
    await page.goto(`${server.baseUrl}/account/apps`);
    assert.deepEqual(await accessibilityProblems(page), []);
    await screenshot(page, 'phone-04-connected-apps');
  });
});
