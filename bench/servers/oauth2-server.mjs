// Benchmark peer: @node-oauth/oauth2-server v5 with an in-memory (Map) model,
// served by plain node:http.
// Usage: PORT=4002 node bench/servers/oauth2-server.mjs (PORT=0: any free port; the ready line says which)
import http from 'node:http';
import crypto from 'node:crypto';
import OAuth2Server from '@node-oauth/oauth2-server';
import { announceReady, BASIC, CLIENT_ID, CLIENT_SECRET, CODE_CHALLENGE, CODE_VERIFIER, controlRoute, FORM, REDIRECT_URI, readBody, sendJson } from './peer.mjs';

const { Request, Response } = OAuth2Server;

const PORT = Number(process.env.PORT || 4002);
const HOST = '127.0.0.1';


const ACCESS_TOKEN_LIFETIME = 3600;
const REFRESH_TOKEN_LIFETIME = 1209600;
const CODE_LIFETIME = 600; // >= 120 s

// ---------------------------------------------------------------- model

const user = { id: 'user-1', username: 'bench-user' };
const client = {
  id: CLIENT_ID,
  grants: ['authorization_code', 'refresh_token', 'client_credentials'],
  redirectUris: [REDIRECT_URI],
  scope: ['api'],
};
const clientSecretBuf = Buffer.from(CLIENT_SECRET);
const clients = new Map([[CLIENT_ID, client]]);

const accessTokens = new Map();
const refreshTokens = new Map();
const authorizationCodes = new Map();

function secretMatches(secret) {
  const given = Buffer.from(String(secret));
  return given.length === clientSecretBuf.length && crypto.timingSafeEqual(given, clientSecretBuf);
}

const model = {
  async getClient(clientId, clientSecret) {
    const c = clients.get(clientId);
    if (!c) return null;
    // Confidential client: a secret is always required on the token endpoint.
    if (clientSecret == null || !secretMatches(clientSecret)) return null;
    return c;
  },

  async saveToken(token, c, u) {
    const saved = {
      accessToken: token.accessToken,
      accessTokenExpiresAt: token.accessTokenExpiresAt,
      refreshToken: token.refreshToken,
      refreshTokenExpiresAt: token.refreshTokenExpiresAt,
      scope: token.scope,
      client: c,
      user: u,
    };
    accessTokens.set(saved.accessToken, saved);
    if (saved.refreshToken) refreshTokens.set(saved.refreshToken, saved);
    return saved;
  },

  async getAccessToken(accessToken) {
    return accessTokens.get(accessToken) ?? null;
  },

  async getRefreshToken(refreshToken) {
    return refreshTokens.get(refreshToken) ?? null;
  },

  // Called by the refresh grant (rotation): delete the used refresh token.
  async revokeToken(token) {
    return refreshTokens.delete(token.refreshToken);
  },

  async saveAuthorizationCode(code, c, u) {
    const saved = {
      authorizationCode: code.authorizationCode,
      expiresAt: code.expiresAt,
      redirectUri: code.redirectUri,
      scope: code.scope,
      codeChallenge: code.codeChallenge,
      codeChallengeMethod: code.codeChallengeMethod,
      client: c,
      user: u,
    };
    authorizationCodes.set(saved.authorizationCode, saved);
    return saved;
  },

  async getAuthorizationCode(authorizationCode) {
    return authorizationCodes.get(authorizationCode) ?? null;
  },

  async revokeAuthorizationCode(code) {
    return authorizationCodes.delete(code.authorizationCode);
  },

  async getUserFromClient(c) {
    // client_credentials: the "user" is the client itself.
    return { id: `client:${c.id}` };
  },

  async validateScope(_u, c, scope) {
    if (!scope) return c.scope;
    return scope.every((s) => c.scope.includes(s)) ? scope : false;
  },

  async verifyScope(token, scope) {
    if (!token.scope) return false;
    return scope.every((s) => token.scope.includes(s));
  },
};

const server = new OAuth2Server({
  model,
  accessTokenLifetime: ACCESS_TOKEN_LIFETIME,
  refreshTokenLifetime: REFRESH_TOKEN_LIFETIME,
  allowEmptyState: false,
  // alwaysIssueNewRefreshToken defaults to true in v5 (rotation).
});

const authenticateOptions = { scope: 'api' };

// ---------------------------------------------------------------- minting
// Same shapes the library produces: 64 hex chars (randomBytes(32)), Date
// expirations, scope as an array.

function randomTokens(count) {
  const buf = crypto.randomBytes(32 * count).toString('hex');
  const out = new Array(count);
  for (let i = 0; i < count; i += 1) out[i] = buf.slice(i * 64, i * 64 + 64);
  return out;
}

function mintRefreshTokens(count) {
  const rts = randomTokens(count);
  const ats = randomTokens(count);
  const now = Date.now();
  const atExp = new Date(now + ACCESS_TOKEN_LIFETIME * 1000);
  const rtExp = new Date(now + REFRESH_TOKEN_LIFETIME * 1000);
  for (let i = 0; i < count; i += 1) {
    const t = {
      accessToken: ats[i],
      accessTokenExpiresAt: atExp,
      refreshToken: rts[i],
      refreshTokenExpiresAt: rtExp,
      scope: ['api'],
      client,
      user,
    };
    accessTokens.set(t.accessToken, t);
    refreshTokens.set(t.refreshToken, t);
  }
  return rts;
}

function mintCodes(count) {
  const codes = randomTokens(count);
  const expiresAt = new Date(Date.now() + CODE_LIFETIME * 1000);
  for (let i = 0; i < count; i += 1) {
    authorizationCodes.set(codes[i], {
      authorizationCode: codes[i],
      expiresAt,
      redirectUri: REDIRECT_URI,
      scope: ['api'],
      codeChallenge: CODE_CHALLENGE,
      codeChallengeMethod: 'S256',
      client,
      user,
    });
  }
  return codes;
}

function mintAccessTokens(count) {
  const ats = randomTokens(count);
  const exp = new Date(Date.now() + ACCESS_TOKEN_LIFETIME * 1000);
  for (let i = 0; i < count; i += 1) {
    accessTokens.set(ats[i], {
      accessToken: ats[i], accessTokenExpiresAt: exp, scope: ['api'], client, user,
    });
  }
  return ats;
}

function prepare(scenario, count) {
  switch (scenario) {
    case 'client_credentials':
      return {
        method: 'POST',
        path: '/token',
        headers: { authorization: BASIC, 'content-type': FORM },
        body: 'grant_type=client_credentials&scope=api',
        values: ['x'],
      };
    case 'refresh':
      return {
        method: 'POST',
        path: '/token',
        headers: { authorization: BASIC, 'content-type': FORM },
        body: 'grant_type=refresh_token&refresh_token={{value}}',
        values: mintRefreshTokens(count),
      };
    case 'code':
      return {
        method: 'POST',
        path: '/token',
        headers: { authorization: BASIC, 'content-type': FORM },
        body: `grant_type=authorization_code&code={{value}}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&code_verifier=${CODE_VERIFIER}`,
        values: mintCodes(count),
      };
    case 'bearer_opaque':
      return {
        method: 'GET',
        path: '/api/me',
        headers: { authorization: 'Bearer {{value}}' },
        body: null,
        values: mintAccessTokens(Math.min(count, 100)),
      };
    default:
      return null; // includes 'introspection': the library has no introspection endpoint
  }
}

// ---------------------------------------------------------------- http

function splitUrl(url) {
  const q = url.indexOf('?');
  if (q === -1) return { path: url, query: {} };
  return { path: url.slice(0, q), query: Object.fromEntries(new URLSearchParams(url.slice(q + 1))) };
}

const control = controlRoute(prepare);

async function handleToken(req, res, query) {
  const raw = await readBody(req);
  const body = Object.fromEntries(new URLSearchParams(raw));
  const request = new Request({ method: req.method, headers: req.headers, query, body });
  const response = new Response();
  try {
    await server.token(request, response);
  } catch {
    // response.status/body were set by the library's error handling
  }
  sendJson(res, response.status, response.body, response.headers);
}

async function handleMe(req, res, query) {
  const request = new Request({ method: req.method, headers: req.headers, query, body: {} });
  const response = new Response();
  try {
    const token = await server.authenticate(request, response, authenticateOptions);
    sendJson(res, 200, { sub: token.user.id, username: token.user.username }, response.headers);
  } catch (err) {
    sendJson(res, err?.code || 500, { error: err?.name || 'server_error', error_description: err?.message }, response.headers);
  }
}

const httpServer = http.createServer((req, res) => {
  if (req.url.startsWith('/__bench/')) {
    control(req, res);
    return;
  }
  const { path, query } = splitUrl(req.url);
  if (path === '/token' && req.method === 'POST') {
    handleToken(req, res, query);
  } else if (path === '/api/me' && req.method === 'GET') {
    handleMe(req, res, query);
  } else {
    req.resume();
    sendJson(res, 404, { error: 'not_found' });
  }
});
httpServer.keepAliveTimeout = 65_000;
httpServer.listen(PORT, HOST, () => {
  announceReady(httpServer, HOST);
});
