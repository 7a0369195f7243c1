/**
 * Browser tests: Debian's chromium (/usr/bin/chromium) driven by
 * playwright-core, never a downloaded browser, against a Latchkey app that
 * listens on 127.0.0.1 (port 0) in the test process, on a SQLite test
 * database. In CI (CI=true) the browser is required; elsewhere the tests are
 * skipped with a message when it is missing.
 *
 * Pages run with JavaScript disabled: they must work without it.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/schema.js';
import type { Client } from '../../src/core/model.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { dialects, type TestDatabase } from './databases.js';
import { accessibilityProblems as inPageAccessibilityProblems, blurActive, focusedName } from './in-page.js';
import { makeClient, seedScopes } from './fixtures.js';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
export const SCREENSHOTS = join(process.cwd(), 'screenshots');

/** false when the browser tests can run; otherwise why they are skipped. Throws in CI. */
export function browserSkip(): string | false {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.CI === 'true') {
    throw new Error(`${CHROMIUM} is required in CI (apt-get install -y chromium; see .ci/run)`);
  }
  return `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) to run the browser tests; skipped outside CI`;
}

export interface BrowserServer {
  baseUrl: string;
  store: KyselyStore;
  app: FastifyInstance;
  /** A confidential client whose redirect URI is the demo callback on this server. */
  client: Client;
  secret: string;
  redirectUri: string;
  browser: Browser;
  /** A fresh browser profile (cookies) with JavaScript off, phone- or desktop-sized. */
  newPage(options?: { phone?: boolean; javaScript?: boolean }): Promise<Page>;
  /** The authorize URL for this server's client. */
  authorizeUrl(params?: Record<string, string>): string;
  /** Redeems a code on the token endpoint, as the partner's server would. */
  redeem(code: string): Promise<{ access_token: string; refresh_token: string }>;
  /** Calls /api/me with the token; returns the status and body. */
  me(accessToken: string): Promise<{ status: number; body: Record<string, unknown> }>;
}

/** Starts the app and the browser around a describe block. */
export function useBrowserServer(config: Record<string, unknown> = {}): BrowserServer {
  const server = {} as BrowserServer;
  let database: TestDatabase;
  const contexts: BrowserContext[] = [];
  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const [sqlite] = await dialects();
    database = await (sqlite as NonNullable<typeof sqlite>).create();
    server.store = await database.open();
    await seedScopes(server.store);
    // The issuer is only an identifier here (the `iss` the client checks).
    server.app = await buildApp({ config: loadConfig({ issuer: 'http://127.0.0.1', ...config }, {}), store: server.store, logger: false });
    await server.app.listen({ host: '127.0.0.1', port: 0 });
    const address = server.app.server.address();
    if (typeof address !== 'object' || !address) throw new Error('no address');
    server.baseUrl = `http://127.0.0.1:${address.port}`;
    server.redirectUri = `${server.baseUrl}/demo/callback`;
    ({ client: server.client, secret: server.secret } = await makeClient(server.store, {
      name: 'Partner App',
      redirectUris: [server.redirectUri],
    }));
    server.browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    server.newPage = async (options = {}) => {
      const context = await server.browser.newContext({
        javaScriptEnabled: options.javaScript ?? false,
        viewport: options.phone ? { width: 375, height: 740 } : { width: 1100, height: 820 },
        ...(options.phone ? { deviceScaleFactor: 2, isMobile: true, hasTouch: true } : {}),
      });
      contexts.push(context);
      return context.newPage();
    };
    server.authorizeUrl = (params = {}) =>
      `${server.baseUrl}/oauth/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: server.client.id,
        redirect_uri: server.redirectUri,
        scope: 'profile read',
        state: 'browser',
        ...params,
      })}`;
    server.redeem = async (code) => {
      const response = await fetch(`${server.baseUrl}/oauth/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${server.client.id}:${server.secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: server.redirectUri }),
      });
      if (response.status !== 200) throw new Error(`token endpoint answered ${response.status}: ${await response.text()}`);
      return (await response.json()) as { access_token: string; refresh_token: string };
    };
    server.me = async (accessToken) => {
      const response = await fetch(`${server.baseUrl}/api/me`, { headers: { authorization: `Bearer ${accessToken}` } });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
  });
  after(async () => {
    await Promise.all(contexts.map((context) => context.close().catch(() => {})));
    await server.browser?.close();
    await server.app?.close();
    await database?.drop();
  });
  return server;
}

/** Saves a full-page screenshot under screenshots/ (gitignored). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** The code the demo callback received, from the page the browser ended on. */
export function codeFrom(page: Page): string {
  const url = new URL(page.url());
  const code = url.searchParams.get('code');
  if (!code) throw new Error(`no code in ${page.url()}`);
  return code;
}

/**
 * What an automated check can say about a page's accessibility (see
 * in-page.js): the problems found, none expected.
 */
export function accessibilityProblems(page: Page): Promise<string[]> {
  return page.evaluate(inPageAccessibilityProblems);
}

/** The accessible names of the first `count` keyboard stops (Tab from the top of the page). */
export async function tabOrder(page: Page, count: number): Promise<string[]> {
  // Start where a person would: nothing focused, the navigation point at the top of the page.
  await page.evaluate(blurActive);
  await page.mouse.click(1, 1);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    await page.keyboard.press('Tab');
    names.push(await page.evaluate(focusedName));
  }
  return names;
}
