/** A cookie-keeping user agent over Fastify's inject, to walk the browser flow without a browser. */
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/schema.js';
import type { Clock } from '../../src/core/clock.js';
import { s256 } from '../../src/core/pkce.js';
import type { Store } from '../../src/store/types.js';
import { PASSWORD, REDIRECT_URI } from './fixtures.js';

export const ISSUER = 'http://localhost:3000';

export async function testApp(store: Store, options: { clock?: Clock; config?: Parameters<typeof loadConfig>[0] } = {}) {
  const config = loadConfig({ issuer: ISSUER, ...options.config }, {});
  return buildApp({ config, store, logger: false, ...(options.clock ? { clock: options.clock } : {}) });
}

export class Agent {
  readonly cookies = new Map<string, string>();
  constructor(readonly app: FastifyInstance) {}

  async request(options: InjectOptions): Promise<LightMyRequestResponse> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await this.app.inject({
      ...options,
      headers: { ...(cookie ? { cookie } : {}), ...(options.headers ?? {}) },
    });
    for (const set of response.cookies) {
      if (set.value === '' || (set.maxAge !== undefined && set.maxAge <= 0) || (set.expires && set.expires.getTime() < Date.now())) {
        this.cookies.delete(set.name);
      } else {
        this.cookies.set(set.name, set.value);
      }
    }
    return response;
  }

  get(url: string): Promise<LightMyRequestResponse> {
    return this.request({ method: 'GET', url });
  }

  postForm(url: string, fields: Record<string, string>): Promise<LightMyRequestResponse> {
    return this.request({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(fields).toString(),
    });
  }
}

export function csrfFrom(html: string): string {
  const match = /name="csrf_token" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error('no csrf_token in page');
  return match[1];
}

export function formAction(html: string, pattern: RegExp): string {
  const actions = [...html.matchAll(/<form[^>]*action="([^"]+)"/g)].map((match) => match[1] as string);
  const action = actions.find((candidate) => pattern.test(candidate));
  if (!action) throw new Error(`no form matching ${pattern}`);
  return action;
}

export function location(response: LightMyRequestResponse): string {
  const value = response.headers.location;
  if (typeof value !== 'string') throw new Error(`expected a redirect, got ${response.statusCode}: ${response.body.slice(0, 300)}`);
  return value;
}

/** Follows same-origin redirects; stops at the first page or at a redirect off the server. */
export async function follow(agent: Agent, response: LightMyRequestResponse): Promise<LightMyRequestResponse> {
  let current = response;
  for (let hops = 0; hops < 10 && current.statusCode >= 300 && current.statusCode < 400; hops++) {
    const target = location(current);
    if (!target.startsWith('/')) return current;
    current = await agent.get(target);
  }
  return current;
}

export const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-extra-entropy';
export const CHALLENGE = s256(VERIFIER);

export function authorizeUrl(params: Record<string, string | undefined>, path = '/oauth/authorize'): string {
  const defined = Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return `${path}?${new URLSearchParams(defined).toString()}`;
}

export interface FlowOptions {
  clientId: string;
  email?: string;
  password?: string;
  scope?: string;
  state?: string;
  /** null omits redirect_uri from the request. */
  redirectUri?: string | null;
  pkce?: boolean;
  /** Name of the account to choose when asked. */
  accountName?: string;
  /** The authorization endpoint (default /oauth/authorize). */
  authorizePath?: string;
  /** null omits response_type (legacy endpoints). */
  responseType?: string | null;
  extra?: Record<string, string>;
}

/** Walks authorize → sign-in → (account) → consent → redirect; returns the final redirect URL. */
export async function runBrowserFlow(agent: Agent, options: FlowOptions): Promise<URL> {
  const start = await agent.get(
    authorizeUrl({
      response_type: options.responseType === null ? undefined : (options.responseType ?? 'code'),
      client_id: options.clientId,
      redirect_uri: options.redirectUri === null ? undefined : (options.redirectUri ?? REDIRECT_URI),
      scope: options.scope ?? 'profile read',
      state: options.state ?? 'xyz',
      ...(options.pkce === false ? {} : { code_challenge: CHALLENGE, code_challenge_method: 'S256' }),
      ...options.extra,
    }, options.authorizePath),
  );
  let page = await follow(agent, start);
  for (let step = 0; step < 5; step++) {
    if (page.statusCode === 303 && !location(page).startsWith('/')) return new URL(location(page));
    if (page.statusCode !== 200) throw new Error(`unexpected ${page.statusCode}: ${page.body.slice(0, 400)}`);
    const body = page.body;
    if (body.includes('action="/login"')) {
      const interaction = /name="interaction" value="([^"]+)"/.exec(body)?.[1] ?? '';
      const response = await agent.postForm('/login', {
        csrf_token: csrfFrom(body),
        interaction,
        email: options.email ?? 'ada@example.com',
        password: options.password ?? PASSWORD,
      });
      page = await follow(agent, response);
    } else if (body.includes('Which account do you want to connect?')) {
      const name = options.accountName;
      const radios = [...body.matchAll(/value="(acc_[^"]+)"[^>]*>\s*<label[^>]*>([^<]+)</g)];
      const chosen = radios.find((match) => (name ? match[2]?.startsWith(name) : true));
      if (!chosen?.[1]) throw new Error(`no account ${name}`);
      const response = await agent.postForm(formAction(body, /\/account$/), { csrf_token: csrfFrom(body), account_id: chosen[1] });
      page = await follow(agent, response);
    } else if (body.includes('value="allow"')) {
      const approve: Record<string, string> = body.includes('name="approve"') ? { approve: 'yes' } : {};
      const response = await agent.postForm(formAction(body, /\/consent$/), { csrf_token: csrfFrom(body), decision: 'allow', ...approve });
      page = await follow(agent, response);
    } else {
      throw new Error(`unexpected page: ${body.slice(0, 400)}`);
    }
  }
  throw new Error('the flow did not finish');
}

export function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export function tokenRequest(
  app: FastifyInstance,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
  path = '/oauth/token',
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(fields).toString(),
  });
}

export { PASSWORD, REDIRECT_URI };

/** A multipart/form-data body, as `curl --form name=value` sends it. */
export function multipart(fields: Record<string, string>): { payload: string; headers: Record<string, string> } {
  const boundary = '------------------------latchkeytestboundary';
  const parts = Object.entries(fields).map(
    ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  return { payload: `${parts.join('')}--${boundary}--\r\n`, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}
