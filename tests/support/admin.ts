/**
 * The operator's side under test: a server (tests/support/server.ts) with an
 * admin user, an admin API token, a JSON API caller and a signed-in console
 * agent, plus connecting an app the way a user would (to have grants and
 * tokens to revoke).
 */
import assert from 'node:assert/strict';
import { before } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { User } from '../../src/core/model.js';
import { createAdminToken } from '../../src/services/admin-tokens.js';
import { registerUser } from '../../src/services/users.js';
import { Agent, basic, csrfFrom, REDIRECT_URI, runBrowserFlow, tokenRequest, VERIFIER } from './agent.js';
import type { DialectCase } from './databases.js';
import { PASSWORD } from './fixtures.js';
import { type TestServer, useServer } from './server.js';
import { signInForm } from './web.js';

export interface AdminTestServer extends TestServer {
  admin: User;
  /** An admin API token (lk_adm_...) of the admin user. */
  token: string;
  tokenId: string;
  /** Calls the admin API with the admin token (or `token`, or none with null). */
  api(method: InjectOptions['method'], url: string, body?: unknown, token?: string | null): Promise<LightMyRequestResponse>;
  /** A browser session signed in as `email` (default: the admin). */
  signedIn(email?: string): Promise<Agent>;
  /** Connects `clientId` to the user's first account; returns the tokens. */
  connect(clientId: string, secret: string, email?: string): Promise<{ access_token: string; refresh_token: string }>;
  /** GET /api/me with the access token: its status. */
  me(accessToken: string): Promise<number>;
}

export const ADMIN_EMAIL = 'root@example.com';

export function useAdminServer(dialect: DialectCase, config: Parameters<typeof useServer>[1] = {}): AdminTestServer {
  const server = useServer(dialect, config) as AdminTestServer;
  before(async () => {
    ({ user: server.admin } = await registerUser(
      server.store,
      { email: ADMIN_EMAIL, password: PASSWORD, firstName: 'Root', lastName: 'Admin', isAdmin: true, accounts: [{ name: 'Operations', kind: 'company' }] },
      Date.now(),
    ));
    const { token, secret } = await createAdminToken(server.store, { name: 'tests' }, Date.now(), {
      by: { actor: server.admin.id, ip: null, via: 'console' },
    });
    server.token = secret;
    server.tokenId = token.id;
    server.api = (method, url, body, token) =>
      server.app.inject({
        method,
        url,
        headers: token === null ? {} : { authorization: `Bearer ${token ?? server.token}` },
        ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }),
      });
    server.signedIn = async (email = ADMIN_EMAIL) => {
      const agent = new Agent(server.app);
      const submit = await signInForm(agent);
      const response = await submit(email, PASSWORD);
      assert.equal(response.statusCode, 303, `sign-in failed: ${response.body.slice(0, 300)}`);
      return agent;
    };
    server.connect = async (clientId, secret, email = 'ada@example.com') => {
      const redirect = await runBrowserFlow(new Agent(server.app), { clientId, email });
      const code = redirect.searchParams.get('code');
      assert.ok(code, `no code in ${redirect}`);
      const response = await tokenRequest(
        server.app,
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER },
        { authorization: basic(clientId, secret) },
      );
      assert.equal(response.statusCode, 200, response.body);
      return response.json() as { access_token: string; refresh_token: string };
    };
    server.me = async (accessToken) => (await server.app.inject({ url: '/api/me', headers: { authorization: `Bearer ${accessToken}` } })).statusCode;
  });
  return server;
}

/** Posts a console form with the page's CSRF token. */
export async function submitForm(agent: Agent, pageUrl: string, action: string, fields: Record<string, string>): Promise<LightMyRequestResponse> {
  const page = await agent.get(pageUrl);
  assert.equal(page.statusCode, 200, `${pageUrl}: ${page.statusCode} ${page.body.slice(0, 300)}`);
  return agent.postForm(action, { csrf_token: csrfFrom(page.body), ...fields });
}

/** The text of an element with this id (a value shown once). */
export function shownValue(html: string, id: string): string | undefined {
  return new RegExp(`<code id="${id}"[^>]*>([^<]+)</code>`).exec(html)?.[1];
}
