// What the benchmark's peer servers share: the client they register, the PKCE
// verifier their minted codes expect, JSON over node:http, and the control
// route through which the orchestrator asks for a scenario's requests.
import crypto from 'node:crypto';

export const CLIENT_ID = 'bench-client';
export const CLIENT_SECRET = 'bench-client-secret-0123456789abcdef0123456789abcdef';
export const REDIRECT_URI = 'https://app.example/cb';
export const CODE_VERIFIER = 'bench-code-verifier-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFG';
export const CODE_CHALLENGE = crypto.createHash('sha256').update(CODE_VERIFIER).digest('base64url');
export const BASIC = `Basic ${Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64')}`;
export const FORM = 'application/x-www-form-urlencoded';

export function sendJson(res, status, obj, headers) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The one line a peer writes on stdout once it listens: the orchestrator (PeerServer) reads its URL from it. */
export function announceReady(server, host) {
  process.stdout.write(`${JSON.stringify({ ready: true, url: `http://${host}:${server.address().port}` })}\n`);
}

export function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The count a control request asks for, at least 1. */
export function countOf(input) {
  return Math.max(1, Math.floor(Number(input?.count) || 1));
}

/**
 * POST /__bench/prepare {scenario, count}: the scenario's request template
 * (see RequestTemplate in bench/common.ts), 404 for a scenario this peer lacks.
 */
export function controlRoute(prepare) {
  return async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/__bench/prepare') {
      sendJson(res, 404, { error: 'not found' });
      return;
    }
    try {
      const input = JSON.parse((await readBody(req)) || '{}');
      const result = await prepare(input.scenario, countOf(input));
      if (!result) sendJson(res, 404, { error: 'unsupported scenario' });
      else sendJson(res, 200, result);
    } catch (err) {
      sendJson(res, 500, { error: String(err?.message ?? err) });
    }
  };
}
