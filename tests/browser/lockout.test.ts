/**
 * In a real browser, with JavaScript off: repeated wrong passwords lock the
 * account for a while, with a message that says so; error pages are pages.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeUser, PASSWORD } from '../support/fixtures.js';
import { accessibilityProblems, browserSkip, screenshot, useBrowserServer } from '../support/browser.js';

describe('sign-in lockout and error pages in the browser', { skip: browserSkip() }, () => {
  const server = useBrowserServer();

  test('after five wrong passwords sign-in is paused, even with the right password', async () => {
    await makeUser(server.store, 'forgetful@example.com');
    const page = await server.newPage();
    await page.goto(server.authorizeUrl());
    for (let attempt = 1; attempt <= 4; attempt++) {
      await page.getByLabel('Email').fill('forgetful@example.com');
      await page.getByLabel('Password').fill(`wrong guess ${attempt}`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').getByText('Incorrect email or password.').waitFor();
      assert.equal(await page.getByLabel('Email').inputValue(), 'forgetful@example.com', 'the email is kept');
    }
    await screenshot(page, '08-wrong-password');
    await page.getByLabel('Password').fill('wrong guess 5');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const locked = page.getByRole('alert').getByText(/Too many failed attempts\. .* try again in 15 minutes\./);
    await locked.waitFor();
    assert.deepEqual(await accessibilityProblems(page), []);
    await screenshot(page, '09-locked');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await locked.waitFor();
    assert.ok(await page.getByRole('heading', { name: 'Sign in' }).isVisible(), 'still on the sign-in page');
  });

  test('an unknown app is a page that explains, with the right status, and never a redirect', async () => {
    const page = await server.newPage();
    const response = await page.goto(server.authorizeUrl({ client_id: 'lkc_unknown' }));
    assert.equal(response?.status(), 400);
    assert.equal(new URL(page.url()).pathname, '/oauth/authorize');
    await page.getByRole('heading', { name: 'This request cannot be completed' }).waitFor();
    assert.ok(await page.getByText('The application that sent you here is not registered.').isVisible());
    assert.deepEqual(await accessibilityProblems(page), []);
    await screenshot(page, '10-error-unknown-app');

    const badRedirect = await page.goto(server.authorizeUrl({ redirect_uri: 'https://evil.example/steal' }));
    assert.equal(badRedirect?.status(), 400);
    assert.ok(await page.getByText('The redirect_uri is not registered for this application.').isVisible());
  });
});
