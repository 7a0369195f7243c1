// The floor under the token targets: the least a server can do on this
// machine to answer the benchmark's token requests and bearer checks with every
// token stored as Latchkey stores it. Not a product: the measure the targets are
// read against (bench/ANALYSIS.md, twenty-third pass).
//
// What it keeps, each done the cheapest way this stack has:
// - Fastify parsing the form as the ceiling does (fastify-ceiling.mjs);
// - what every Latchkey response carries: its security headers and request id
//   (Latchkey's own hook, src/http/security-headers.ts, and id generator) and
//   its access-log line, made and batched by Latchkey's own logging
//   (src/http/logging.ts: one line a request, written a batch at a time), to
//   /dev/null; FLOOR_BARE=1 leaves them out. Until the twenty-seventh pass its
//   line was its own (an ISO date and the response time, sixteen lines a
//   write), which cost as much (about 16,000 instructions a JWT check,
//   either line) but was not the line Latchkey writes;
// - Latchkey's turn cohort (src/http/turn-cohort.ts): a turn's requests go on
//   together once its reads are done, which costs a JWT check less CPU than
//   answering it inside its socket's read (twenty-fifth pass). Kept with
//   FLOOR_BARE=1 too: it is scheduling, not work a response carries;
// - the client's Basic credentials checked against its secret's SHA-256, the
//   client held in memory and never reread;
// - refresh and code: the presented token's or code's SHA-256 looked up with
//   its grant and checked (client, redirect URI, PKCE S256, expiry, spent,
//   the grant's revocation), two new tokens minted and hashed (Latchkey's own
//   secrets.js: 256 random bits, the time first in the key), the spend and the
//   two inserts. Every request of one turn in one transaction, lookups
//   included; no savepoints (a request that fails its checks writes nothing,
//   and nothing else throws here). Each answer goes out only after an fsync of
//   the WAL that started after its COMMIT;
// - bearer_opaque: the token's SHA-256, looked up with its grant (a turn's
//   lookups in one read transaction) and checked;
// - bearer_jwt: a token whose signature was verified before, found in memory
//   (the benchmark sends 100 tokens over and over, and Latchkey keeps the
//   tokens it has verified, in the cache used here, core/jwt.js): no
//   signature, no database;
// - Latchkey's tables and indexes (its migrations).
//
// Usage: PORT=0 node bench/servers/durable-floor.mjs (it takes the schema and the
// credentials' format from dist/, and runs `npm run build` first when there is none)
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, fsync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastify from 'fastify';
import { openFloorDatabase } from '../floor-database.mjs';
import { announceReady, BASIC, CLIENT_ID, CLIENT_SECRET, CODE_CHALLENGE, CODE_VERIFIER, countOf, FORM, REDIRECT_URI } from './peer.mjs';

const dist = new URL('../../dist/', import.meta.url);
// Alone on a fresh checkout, build first (the harness has built it already for Latchkey).
if (!existsSync(new URL('store/open.js', dist))) execFileSync('npm', ['run', '--silent', 'build'], { cwd: new URL('../..', import.meta.url), stdio: ['ignore', 'ignore', 'inherit'] });
const { hashCredential, newCredential } = await import(new URL('core/secrets.js', dist).href);

const PORT = Number(process.env.PORT || 4004);
const HOST = '127.0.0.1';
const BARE = process.env.FLOOR_BARE === '1';
const SCOPE = 'read';
const ACCESS_TTL_MS = 3_600_000;
const REFRESH_TTL_MS = 30 * 86_400_000;
const CODE_TTL_MS = 3_600_000;

const dir = mkdtempSync(join(tmpdir(), 'latchkey-floor-'));
const file = join(dir, 'floor.sqlite');
const db = await openFloorDatabase(await import(new URL('store/open.js', dist).href), file);
const started = Date.now();
db.prepare(
  `insert into clients (id, name, redirect_uris, scopes, grant_types, is_public, is_legacy, created_at, updated_at) values (?, 'C', '[]', '["read"]', '["refresh_token"]', 0, 0, ?, ?)`,
).run(CLIENT_ID, started, started);
const client = { id: CLIENT_ID, secretHash: Buffer.from(hash('sha256', CLIENT_SECRET, 'base64url')) };

const SQL = {
  insertGrant: `insert into grants (id, client_id, user_id, account_id, scopes, created_at, updated_at) values (?, ?, 'u', 'a', ?, ?, ?)`,
  insertRefresh: `insert into refresh_tokens (token_hash, grant_id, client_id, scopes, created_at, expires_at, rotated_at, revoked_at) values (?, ?, ?, ?, ?, ?, null, null)`,
  insertAccess: `insert into access_tokens (token_hash, grant_id, client_id, user_id, account_id, scopes, created_at, expires_at, revoked_at, signing_key_id) values (?, ?, ?, ?, ?, ?, ?, ?, null, null)`,
  insertCode: `insert into authorization_codes (code_hash, grant_id, client_id, redirect_uri, scopes, code_challenge, code_challenge_method, channel, created_at, expires_at) values (?, ?, ?, ?, ?, ?, 'S256', 'default', ?, ?)`,
  // Each lookup's row, raw: [grant_id, client_id, scopes, expires_at, spent, revoked, the grant's user, account, revoked_at, ...]
  findRefresh: `select t.grant_id, t.client_id, t.scopes, t.expires_at, t.rotated_at, t.revoked_at, g.user_id, g.account_id, g.revoked_at from refresh_tokens t join grants g on g.id = t.grant_id where t.token_hash = ?`,
  findCode: `select c.grant_id, c.client_id, c.scopes, c.expires_at, c.consumed_at, null, g.user_id, g.account_id, g.revoked_at, c.redirect_uri, c.code_challenge from authorization_codes c join grants g on g.id = c.grant_id where c.code_hash = ?`,
  findAccess: `select t.grant_id, t.client_id, t.scopes, t.expires_at, null, t.revoked_at, t.user_id, t.account_id, g.revoked_at from access_tokens t join grants g on g.id = t.grant_id where t.token_hash = ?`,
  spendRefresh: `update refresh_tokens set rotated_at = ? where token_hash = ?`,
  spendCode: `update authorization_codes set consumed_at = ? where code_hash = ?`,
};
const statements = Object.fromEntries(Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)]));
for (const name of ['findRefresh', 'findCode', 'findAccess']) statements[name].raw(true);
const beginWrite = db.prepare('begin immediate');
const beginRead = db.prepare('begin');
const commit = db.prepare('commit');

function refuse(reply, status, error) {
  reply.code(status).header('cache-control', 'no-store').send({ error });
}

/** The WAL's descriptor, opened once the first commit has created the file. */
let walFd;
let syncing = false;
/** Answers committed, waiting for a sync that starts after their COMMIT. */
let committed = [];

function syncThenAnswer() {
  syncing = true;
  const batch = committed;
  committed = [];
  walFd ??= openSync(`${file}-wal`, 'r');
  fsync(walFd, (error) => {
    syncing = false;
    for (const unit of batch) {
      if (error) refuse(unit.reply, 500, 'server_error');
      else unit.reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(unit.body);
    }
    if (committed.length > 0) syncThenAnswer();
  });
}

/** Checks a token request's row (raw, see SQL) and writes its spend and tokens; false when refused. */
function exchange(unit, row, now) {
  if (row === undefined || row[1] !== unit.clientId || row[3] <= now || row[4] !== null || row[5] !== null || row[8] !== null) return false;
  if (unit.kind === 'code' && (row[9] !== unit.redirectUri || hash('sha256', unit.verifier, 'base64url') !== row[10])) return false;
  const [grantId, clientId, scopes, , , , userId, accountId] = row;
  statements[unit.kind === 'code' ? 'spendCode' : 'spendRefresh'].run(now, unit.presentedHash);
  statements.insertAccess.run(hashCredential(unit.access), grantId, clientId, userId, accountId, scopes, now, now + ACCESS_TTL_MS);
  statements.insertRefresh.run(hashCredential(unit.refresh), grantId, clientId, scopes, now, now + REFRESH_TTL_MS);
  unit.body = { access_token: unit.access, token_type: 'Bearer', expires_in: ACCESS_TTL_MS / 1000, refresh_token: unit.refresh, scope: scopes };
  return true;
}

let pending = [];
let writes = 0;

/** The turn's requests, looked up, checked and written in one transaction. */
function flush() {
  const units = pending;
  pending = [];
  const writing = writes > 0;
  writes = 0;
  const now = Date.now();
  const written = [];
  try {
    (writing ? beginWrite : beginRead).run();
    for (const unit of units) {
      if (unit.kind === 'bearer') {
        const row = statements.findAccess.get(unit.presentedHash);
        if (row === undefined || row[3] <= now || row[5] !== null || row[8] !== null) refuse(unit.reply.header('www-authenticate', 'Bearer error="invalid_token"'), 401, 'invalid_token');
        else unit.reply.header('cache-control', 'no-store').send({ sub: row[6], account: row[7], scope: row[2] });
        continue;
      }
      const row = statements[unit.kind === 'code' ? 'findCode' : 'findRefresh'].get(unit.presentedHash);
      if (exchange(unit, row, now)) written.push(unit);
      else refuse(unit.reply, 400, 'invalid_grant');
    }
    commit.run();
  } catch {
    // Nothing of the turn was written: every request of it not yet answered fails.
    if (db.inTransaction) db.exec('rollback');
    for (const unit of units) if (!unit.reply.sent) refuse(unit.reply, 500, 'server_error');
    return;
  }
  for (const unit of written) committed.push(unit);
  if (!syncing && committed.length > 0) syncThenAnswer();
}

function enqueue(unit) {
  pending.push(unit);
  // setImmediate runs after the poll phase: every request read in this turn is queued by then.
  if (pending.length === 1) setImmediate(flush);
}

/** The client of a Basic header, if its secret is right. */
function authenticate(authorization) {
  if (authorization === undefined || !authorization.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0 || decodeURIComponent(decoded.slice(0, colon)) !== client.id) return undefined;
  const presented = Buffer.from(hash('sha256', decodeURIComponent(decoded.slice(colon + 1)), 'base64url'));
  return presented.length === client.secretHash.length && timingSafeEqual(presented, client.secretHash) ? client : undefined;
}

const logging = BARE ? undefined : await import(new URL('http/logging.js', dist).href);
const app = fastify(
  logging === undefined
    ? { logger: false }
    : {
        // Latchkey's standard output is /dev/null in the benchmark: the same here.
        logger: logging.loggerOptions('info', logging.batchedDestination('/dev/null')),
        logController: new logging.OneLinePerRequest(),
        genReqId: (await import(new URL('http/request-id.js', dist).href)).newRequestId,
        requestIdHeader: false,
      },
);
logging?.deferChildLoggers(app.log);
const { registerTurnCohort } = await import(new URL('http/turn-cohort.js', dist).href);
registerTurnCohort(app);
app.addContentTypeParser(FORM, { parseAs: 'string' }, (_req, body, done) => {
  done(null, Object.fromEntries(new URLSearchParams(body)));
});

if (!BARE) {
  // Latchkey's own hook: the same headers and request id, set the same way.
  const { registerSecurityHeaders } = await import(new URL('http/security-headers.js', dist).href);
  registerSecurityHeaders(app);
}

app.post('/token', (request, reply) => {
  const found = authenticate(request.headers.authorization);
  if (found === undefined) return refuse(reply.header('www-authenticate', 'Basic'), 401, 'invalid_client');
  const params = request.body ?? {};
  const kind = params.grant_type === 'refresh_token' ? 'refresh' : params.grant_type === 'authorization_code' ? 'code' : undefined;
  const presented = kind === 'code' ? params.code : params.refresh_token;
  if (kind === undefined || typeof presented !== 'string' || (kind === 'code' && typeof params.code_verifier !== 'string')) return refuse(reply, 400, 'invalid_request');
  writes++;
  enqueue({
    kind,
    reply,
    clientId: found.id,
    presentedHash: hashCredential(presented),
    redirectUri: params.redirect_uri,
    verifier: params.code_verifier,
    access: newCredential('accessToken'),
    refresh: newCredential('refreshToken'),
    body: undefined,
  });
  return reply;
});

/** Tokens that passed their signature check before: Latchkey's cache of verified JWTs. */
const verifiedJwts = new (await import(new URL('core/jwt.js', dist).href)).VerifiedTokenCache();

app.get('/api/me', (request, reply) => {
  const authorization = request.headers.authorization;
  const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined;
  if (token === undefined) return refuse(reply.header('www-authenticate', 'Bearer'), 401, 'invalid_token');
  const verified = verifiedJwts.get(token, Date.now());
  if (verified !== undefined) return reply.header('cache-control', 'no-store').send({ sub: verified.subject, account: verified.accountId, scope: SCOPE });
  enqueue({ kind: 'bearer', reply, presentedHash: hashCredential(token) });
  return reply;
});

/** Live grants of the bench client; each gets what `attach` inserts for it, and `attach`'s values are returned. */
function mint(count, attach) {
  const now = Date.now();
  const values = [];
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const grantId = `gr_floor_${randomBytes(12).toString('base64url')}`;
      statements.insertGrant.run(grantId, client.id, SCOPE, now, now);
      values.push(attach(grantId, now));
    }
  })();
  return values;
}

function prepare(scenario, count) {
  const post = (body, values) => ({ method: 'POST', path: '/token', headers: { authorization: BASIC, 'content-type': FORM }, body, values });
  const get = (values) => ({ method: 'GET', path: '/api/me', headers: { authorization: 'Bearer {{value}}' }, body: null, values });
  switch (scenario) {
    case 'refresh':
      return post(
        'grant_type=refresh_token&refresh_token={{value}}',
        mint(count, (grantId, now) => {
          const token = newCredential('refreshToken');
          statements.insertRefresh.run(hashCredential(token), grantId, client.id, SCOPE, now, now + REFRESH_TTL_MS);
          return token;
        }),
      );
    case 'code':
      return post(
        `grant_type=authorization_code&code={{value}}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&code_verifier=${CODE_VERIFIER}`,
        mint(count, (grantId, now) => {
          const code = newCredential('code');
          statements.insertCode.run(hashCredential(code), grantId, client.id, REDIRECT_URI, SCOPE, CODE_CHALLENGE, now, now + CODE_TTL_MS);
          return code;
        }),
      );
    case 'bearer_opaque':
      return get(
        mint(Math.min(count, 100), (grantId, now) => {
          const token = newCredential('accessToken');
          statements.insertAccess.run(hashCredential(token), grantId, client.id, 'u', 'a', SCOPE, now, now + ACCESS_TTL_MS);
          return token;
        }),
      );
    case 'bearer_jwt':
      return get(
        Array.from({ length: Math.min(count, 100) }, () => {
          const token = `eyJ.${randomBytes(180).toString('base64url')}.${randomBytes(64).toString('base64url')}`;
          const now = Date.now();
          verifiedJwts.set(token, { kid: 'k', subject: 'u', clientId: client.id, scopes: [SCOPE], accountId: 'a', issuedAt: now, expiresAt: now + ACCESS_TTL_MS, jti: token.slice(-22) });
          return token;
        }),
      );
    default:
      return undefined;
  }
}

app.post('/__bench/prepare', async (request, reply) => {
  const input = typeof request.body === 'string' ? JSON.parse(request.body || '{}') : request.body;
  const template = prepare(input?.scenario, countOf(input));
  if (!template) return reply.code(404).send({ error: 'unsupported scenario' });
  return template;
});

const close = () => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGTERM', close);
process.once('SIGINT', close);

await app.listen({ port: PORT, host: HOST });
announceReady(app.server, HOST);
