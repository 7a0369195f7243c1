/**
 * A Latchkey listening on 127.0.0.1 (port 0) for third-party client libraries,
 * and a cookie-keeping browser over real HTTP (fetch) that signs in and consents
 * with the same form posts a person's browser would send.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { type ConfigInput, loadConfig } from '../../src/config/schema.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { csrfFrom, formAction, PASSWORD } from '../support/agent.js';
import type { DialectCase, TestDatabase } from '../support/databases.js';

export interface RunningLatchkey {
  /** The issuer, e.g. http://127.0.0.1:41234 */
  url: string;
  app: FastifyInstance;
  store: KyselyStore;
  database: TestDatabase;
  close(): Promise<void>;
}

/**
 * The issuer must be known before the app is built, and the port only once a
 * socket listens: so a plain HTTP server listens on port 0 first and hands every
 * request to the app's own request listener.
 */
export async function startLatchkey(dialect: DialectCase, config: ConfigInput = {}): Promise<RunningLatchkey> {
  const database = await dialect.create();
  const store = await database.open();
  const outer: Server = createServer();
  outer.listen(0, '127.0.0.1');
  await once(outer, 'listening');
  const url = `http://127.0.0.1:${(outer.address() as AddressInfo).port}`;
  const app = await buildApp({ config: loadConfig({ issuer: url, ...config }, {}), store, logger: false });
  await app.ready();
  outer.on('request', (request, response) => app.server.emit('request', request, response));
  return {
    url,
    app,
    store,
    database,
    async close() {
      outer.closeAllConnections();
      await new Promise<void>((resolve) => outer.close(() => resolve()));
      await app.close();
      await database.drop();
    },
  };
}

/** A browser: fetch with a cookie jar, redirects followed by hand on the server's origin only. */
export class HttpBrowser {
  private readonly cookies = new Map<string, string>();
  constructor(private readonly origin: string) {}

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    if (cookie) headers.cookie = cookie;
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(new URL(url, this.origin), {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      body: init.form ? new URLSearchParams(init.form).toString() : null,
      redirect: 'manual',
    });
    for (const set of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = set.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((attribute) => /^\s*max-age=0\s*$/i.test(attribute)) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** Follows redirects on the server's own origin; returns the first page, or a redirect elsewhere. */
  async follow(response: Response): Promise<Response> {
    let current = response;
    for (let hops = 0; hops < 10 && current.status >= 300 && current.status < 400; hops++) {
      const target = new URL(current.headers.get('location') ?? '', this.origin);
      if (target.origin !== this.origin) return current;
      current = await this.request(target.href);
    }
    return current;
  }
}

/**
 * Opens the authorization URL a client library built, signs in, chooses the
 * account, consents; returns the URL the browser is finally sent to.
 */
export async function signInAndConsent(authorizationUrl: URL, origin: string, email = 'ada@example.com'): Promise<URL> {
  const browser = new HttpBrowser(origin);
  let page = await browser.follow(await browser.request(authorizationUrl.href));
  for (let step = 0; step < 6; step++) {
    if (page.status >= 300 && page.status < 400) return new URL(page.headers.get('location') as string, origin);
    const body = await page.text();
    if (page.status !== 200) throw new Error(`unexpected ${page.status}: ${body.slice(0, 300)}`);
    if (body.includes('action="/login"')) {
      const interaction = /name="interaction" value="([^"]+)"/.exec(body)?.[1] ?? '';
      page = await browser.follow(
        await browser.request('/login', { form: { csrf_token: csrfFrom(body), interaction, email, password: PASSWORD } }),
      );
    } else if (body.includes('Which account do you want to connect?')) {
      const account = /value="(acc_[^"]+)"/.exec(body)?.[1];
      if (!account) throw new Error('no account to choose');
      page = await browser.follow(await browser.request(formAction(body, /\/account$/), { form: { csrf_token: csrfFrom(body), account_id: account } }));
    } else if (body.includes('value="allow"')) {
      const approve: Record<string, string> = body.includes('name="approve"') ? { approve: 'yes' } : {};
      page = await browser.follow(
        await browser.request(formAction(body, /\/consent$/), { form: { csrf_token: csrfFrom(body), decision: 'allow', ...approve } }),
      );
    } else {
      throw new Error(`unexpected page: ${body.slice(0, 300)}`);
    }
  }
  throw new Error('the flow did not finish');
}
