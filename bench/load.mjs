#!/usr/bin/env node
// The load generator: one autocannon run in its own process (pinned to its own
// CPU by the orchestrator), so that generating load never competes with the
// server for the event loop it measures.
//
// Usage: node bench/load.mjs <job.json>; prints one JSON line with the result.
// The job names a request template whose literal {{value}} (in the body and in
// header values) is replaced per request by the next of `values` (see
// RequestTemplate in bench/common.ts). Single-use
// credentials (refresh tokens, codes) come as one value per request, shared by
// every connection through one counter, so none is sent twice.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const job = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const PLACEHOLDER = '{{value}}';

/** A string value fills {{value}}; an object value fills {{key}} for each of its keys. */
function fill(template, value) {
  if (template === null || template === undefined) return undefined;
  if (typeof value === 'string') return template.split(PLACEHOLDER).join(value);
  let filled = template;
  for (const [key, part] of Object.entries(value)) filled = filled.split(`{{${key}}}`).join(part);
  return filled;
}

function fillHeaders(headers, value) {
  const filled = {};
  for (const [name, template] of Object.entries(headers)) filled[name] = fill(template, value);
  return filled;
}

const { values } = job;
const varies = values.length > 0 && [job.body ?? '', ...Object.values(job.headers)].some((text) => text.includes('{{'));
let requests;
let next = 0;
if (!varies) {
  requests = [{ method: job.method, path: job.path, headers: job.headers, body: job.body ?? undefined }];
} else if (!job.singleUse) {
  // Reusable credentials: prebuilt requests, cycled by each connection.
  requests = values.map((value) => ({ method: job.method, path: job.path, headers: fillHeaders(job.headers, value), body: fill(job.body, value) }));
} else {
  // A chain (job.chain names the response field): each answer's new credential (a rotated
  // refresh token) is sent next, so a few minted values serve the whole run, as clients do.
  const fresh = [];
  requests = [
    {
      method: job.method,
      path: job.path,
      setupRequest(request) {
        // Past the end of the minted values the server sees a spent credential
        // and answers 4xx, which the report shows as non-2xx: mint more.
        let value = fresh.pop();
        if (value === undefined) {
          value = values[next < values.length ? next : next % values.length];
          next += 1;
        }
        return { ...request, headers: fillHeaders(job.headers, value), body: fill(job.body, value) };
      },
      ...(job.chain
        ? {
            onResponse(status, body) {
              if (status !== 200) return;
              const value = JSON.parse(body)[job.chain];
              if (typeof value === 'string') fresh.push(value);
            },
          }
        : {}),
    },
  ];
}

const instance = autocannon({
  url: job.url,
  connections: job.connections,
  pipelining: 1,
  duration: job.durationSeconds,
  requests,
  // Keep every status: 3xx is success for a sign-in (303 to the next page).
  expectBody: undefined,
});
const result = await instance;
const statuses = {};
for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = stats.count;
const expected = job.expectStatus ?? null;
const ok = expected === null ? result['2xx'] : (statuses[String(expected)] ?? 0);
process.stdout.write(
  `${JSON.stringify({
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    ok,
    failed: result.requests.total - ok + result.errors + result.timeouts,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    statuses,
    reused: Math.max(0, next - values.length),
  })}\n`,
);
