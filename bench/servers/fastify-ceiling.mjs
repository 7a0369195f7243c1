// Benchmark ceiling: bare Fastify 5 doing no OAuth work at all, replying
// token-shaped JSON. Shows the HTTP-stack upper bound on this machine.
// Usage: PORT=4003 node bench/servers/fastify-ceiling.mjs (PORT=0: any free port; the ready line says which)
import crypto from 'node:crypto';
import fastify from 'fastify';
import { announceReady, BASIC, countOf, FORM } from './peer.mjs';

const PORT = Number(process.env.PORT || 4003);
const HOST = '127.0.0.1';


// Only the control route's response is large; requests stay small, but allow
// a generous request body anyway.
const app = fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });

app.addContentTypeParser(FORM, { parseAs: 'string' }, (_req, body, done) => {
  done(null, Object.fromEntries(new URLSearchParams(body)));
});

const ACCESS = 'x'.repeat(49);
const REFRESH = 'y'.repeat(49);

app.post('/token', async (req) => ({
  access_token: ACCESS,
  token_type: 'Bearer',
  expires_in: 3600,
  refresh_token: REFRESH,
  scope: req.body?.scope ?? null,
}));

app.get('/api/me', async () => ({ sub: 'user', account: 'acct' }));

function randomValues(count) {
  const out = new Array(count);
  for (let i = 0; i < count; i += 1) out[i] = crypto.randomBytes(37).toString('base64url').slice(0, 49);
  return out;
}

function prepare(scenario, count) {
  switch (scenario) {
    case 'post':
      return {
        method: 'POST',
        path: '/token',
        headers: { authorization: BASIC, 'content-type': FORM },
        body: 'grant_type=refresh_token&refresh_token={{value}}',
        values: randomValues(Math.min(count, 100)),
      };
    case 'get':
      return {
        method: 'GET',
        path: '/api/me',
        headers: { authorization: 'Bearer {{value}}' },
        body: null,
        values: randomValues(Math.min(count, 100)),
      };
    default:
      return null;
  }
}

app.post('/__bench/prepare', async (req, reply) => {
  const input = typeof req.body === 'string' ? JSON.parse(req.body || '{}') : req.body;
  const result = prepare(input?.scenario, countOf(input));
  if (!result) return reply.code(404).send({ error: 'unsupported scenario' });
  return result;
});

await app.listen({ port: PORT, host: HOST });
announceReady(app.server, HOST);
