// Benchmark peer: oidc-provider (panva) with its shipped in-memory adapter.
// Usage: PORT=4001 node bench/servers/oidc-provider.mjs (PORT=0: any free port; the ready line says which)
//
// oidc-provider prints notices via console.info (stdout) and warnings via
// console.warn (stderr). stdout is reserved for the single ready line
// ({"ready":true,"url":...}), so route console.info/console.log to stderr BEFORE the library loads
// (hence the dynamic imports below).
import http from 'node:http';
import crypto from 'node:crypto';
import { announceReady, BASIC, CLIENT_ID, CLIENT_SECRET, CODE_CHALLENGE, CODE_VERIFIER, controlRoute, FORM, REDIRECT_URI } from './peer.mjs';

const toStderr = (...args) => { process.stderr.write(`${args.join(' ')}\n`); };
console.info = toStderr;
console.log = toStderr;

const { default: Provider } = await import('oidc-provider');
// The shipped memory adapter (used when no `adapter` option is given) keeps
// everything in a per-provider two-generation LRU capped at 1000 entries
// (lib/adapters/memory_adapter.js createMemoryAdapter), which would evict
// pre-minted credentials, and the tokens a run itself issues, long before
// 200,000 requests. So we pass the very same shipped MemoryAdapter class, backed
// by the same shipped LRU class, only with a larger capacity. The adapter code
// path is otherwise identical to the default.
const { default: MemoryAdapter } = await import('oidc-provider/lib/adapters/memory_adapter.js');
const { default: LRU } = await import('oidc-provider/lib/helpers/lru.js');
const CLOCK_TOLERANCE = 15; // library default clockTolerance
const store = new LRU({ maxSize: 3_000_000 });
const adapter = (model) => new MemoryAdapter(model, store, CLOCK_TOLERANCE);

const PORT = Number(process.env.PORT || 4001);
const HOST = '127.0.0.1';
// The issuer names the port, so the server listens first (PORT=0: any free
// port) and takes requests once the provider exists, before the ready line.
const server = http.createServer();
server.keepAliveTimeout = 65_000;
await new Promise((resolve) => server.listen(PORT, HOST, resolve));
const ISSUER = `http://${HOST}:${server.address().port}`;

const ACCOUNT_ID = 'user-1';
// Scope of minted codes / refresh tokens: 'offline_access' only, plain OAuth
// 2.0 as Latchkey serves it, so no id_token is signed per exchange.
// BENCH_ID_TOKEN=1 adds 'openid' (an RS256 id_token on every code/refresh
// exchange, as an OpenID provider does).
const SOURCE_SCOPE = process.env.BENCH_ID_TOKEN === '1' ? 'openid offline_access' : 'offline_access';

// Own signing key (instead of the development-only default keys, which also
// print a warning). RS256 is the default id_token signing alg.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', use: 'sig', alg: 'RS256' };

const account = {
  accountId: ACCOUNT_ID,
  async claims() {
    return { sub: ACCOUNT_ID };
  },
};

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    redirect_uris: [REDIRECT_URI],
    scope: 'openid offline_access api',
  }],
  adapter,
  jwks: { keys: [signingJwk] },
  scopes: ['openid', 'offline_access', 'api'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
  },
  pkce: { required: () => true }, // S256 is the only method oidc-provider 9 supports
  rotateRefreshToken: true,
  async findAccount(_ctx, id) {
    return id === ACCOUNT_ID ? account : undefined;
  },
  // Explicit TTLs (library default values, except AuthorizationCode >= 120 s);
  // setting them also silences the "you should change this" notices.
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 600,
    ClientCredentials: 600,
    IdToken: 3600,
    RefreshToken: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
    Session: 14 * 24 * 3600,
    Interaction: 3600,
    DeviceCode: 600,
    BackchannelAuthenticationRequest: 600,
    PreAuthorizedCode: 600,
  },
});

const callback = provider.callback();

// ---------------------------------------------------------------- minting

let clientPromise;
function getClient() {
  clientPromise ||= provider.Client.find(CLIENT_ID);
  return clientPromise;
}

async function newGrant(client, scope) {
  const grant = new provider.Grant({ accountId: ACCOUNT_ID, clientId: client.clientId });
  grant.addOIDCScope(scope);
  const grantId = await grant.save();
  return grantId;
}

// One Grant per single-use credential: the memory adapter keeps a member list
// per grant (O(members) work per save), and a reused refresh token revokes the
// whole grant, so sharing one grant across 200k credentials would be neither
// realistic nor isolated.
async function mintCodes(count) {
  const client = await getClient();
  const scope = SOURCE_SCOPE;
  const values = new Array(count);
  for (let i = 0; i < count; i += 1) {
    const grantId = await newGrant(client, scope);
    values[i] = await new provider.AuthorizationCode({
      accountId: ACCOUNT_ID,
      client,
      grantId,
      scope,
      redirectUri: REDIRECT_URI,
      codeChallenge: CODE_CHALLENGE,
      codeChallengeMethod: 'S256',
      authTime: Math.floor(Date.now() / 1000),
    }).save();
  }
  return values;
}

async function mintRefreshTokens(count) {
  const client = await getClient();
  const scope = SOURCE_SCOPE;
  const values = new Array(count);
  for (let i = 0; i < count; i += 1) {
    const grantId = await newGrant(client, scope);
    values[i] = await new provider.RefreshToken({
      accountId: ACCOUNT_ID,
      client,
      grantId,
      scope,
      gty: 'authorization_code',
      rotations: 0,
      authTime: Math.floor(Date.now() / 1000),
    }).save();
  }
  return values;
}

async function mintAccessTokens(count) {
  const client = await getClient();
  const scope = 'openid';
  const grantId = await newGrant(client, scope);
  const values = new Array(count);
  for (let i = 0; i < count; i += 1) {
    values[i] = await new provider.AccessToken({
      accountId: ACCOUNT_ID,
      client,
      grantId,
      scope,
      gty: 'authorization_code',
    }).save();
  }
  return values;
}

const tokenPath = '/token';

async function prepare(scenario, count) {
  switch (scenario) {
    case 'client_credentials':
      return {
        method: 'POST',
        path: tokenPath,
        headers: { authorization: BASIC, 'content-type': FORM },
        body: 'grant_type=client_credentials&scope=api',
        values: ['x'],
      };
    case 'refresh':
      return {
        method: 'POST',
        path: tokenPath,
        headers: { authorization: BASIC, 'content-type': FORM },
        body: 'grant_type=refresh_token&refresh_token={{value}}',
        values: await mintRefreshTokens(count),
      };
    case 'code':
      return {
        method: 'POST',
        path: tokenPath,
        headers: { authorization: BASIC, 'content-type': FORM },
        body: `grant_type=authorization_code&code={{value}}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&code_verifier=${CODE_VERIFIER}`,
        values: await mintCodes(count),
      };
    case 'bearer_opaque':
      return {
        method: 'GET',
        path: '/me',
        headers: { authorization: 'Bearer {{value}}' },
        body: null,
        values: await mintAccessTokens(Math.min(count, 100)),
      };
    case 'introspection':
      return {
        method: 'POST',
        path: '/token/introspection',
        headers: { authorization: BASIC, 'content-type': FORM },
        body: 'token={{value}}',
        values: await mintAccessTokens(Math.min(count, 100)),
      };
    default:
      return null;
  }
}

const control = controlRoute(prepare);

server.on('request', (req, res) => (
  req.url.startsWith('/__bench/') ? control(req, res) : callback(req, res)
));
announceReady(server, HOST);
