/**
 * Instructions per request, counted by valgrind's callgrind: unlike requests
 * per second or CPU time, the count does not move with what else the machine
 * is doing, so a change of a few percent shows (ANALYSIS.md: repeatable to a
 * few percent once V8 has warmed up). The server runs under callgrind with
 * counting off; the script warms it up, counts `--count` requests only, and
 * divides. Every thread of the server counts (libuv's pool writing log lines,
 * V8's helpers), not the kernel.
 *
 * Two things still move it. V8 goes on optimizing for a while: a rotating
 * refresh counted after 10,000 requests spent a fifth of its count in
 * TurboFan, after 25,000 about 1% (hence the default warm-up). And a major
 * garbage collection either falls inside the counted part or not: tens of
 * thousands of instructions per request on a bearer check counted over 3,000
 * requests. Compare counts with the collector's share left out, or count more.
 *
 * To name the JIT-compiled functions in a kept profile (callgrind sees only
 * their addresses), run with NODE_OPTIONS=--perf-basic-prof, which makes the
 * server write /tmp/perf-PID.map, and pipe callgrind_annotate's output
 * through bench/jit-symbols.mjs (ANALYSIS.md, thirteenth pass).
 *
 * Usage: node --import tsx bench/instructions.ts [--targets latchkey-sqlite,fastify]
 *          (targets: latchkey-sqlite, latchkey-postgres and the peers of PEERS below)
 *          [--scenarios bearer_jwt,healthz,get] [--warmup 25000] [--count 1000]
 *          [--concurrency 4] [--keep DIR]
 * Scenarios are the benchmark's (client_credentials, refresh, code, bearer_opaque,
 * bearer_jwt, introspection; the ceiling's post and get) and `healthz`
 * (Latchkey's GET /healthz: its floor, no token, no database).
 * Runs a few minutes per pair: valgrind runs the server some fifty times slower.
 */
import { execFileSync } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type BenchServer, CPUS, PeerServer, type RequestTemplate } from './common.js';
import { LatchkeyTarget } from './latchkey.js';

const { values: flags } = parseArgs({
  options: {
    targets: { type: 'string', default: 'latchkey-sqlite,fastify' },
    scenarios: { type: 'string', default: 'healthz,bearer_jwt,get' },
    warmup: { type: 'string', default: '25000' },
    count: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '4' },
    keep: { type: 'string' },
  },
});
const warmup = Number(flags.warmup);
const count = Number(flags.count);
const concurrency = Number(flags.concurrency);
if (![warmup, count, concurrency].every((n) => Number.isInteger(n) && n > 0)) throw new TypeError('--warmup, --count and --concurrency take positive integers');

const HEALTHZ: RequestTemplate = { method: 'GET', path: '/healthz', headers: {}, body: null, values: [], singleUse: false };

/** The request of one value of a template (the substitution bench/load.mjs does). */
function requestOf(template: RequestTemplate, value: string | Record<string, string> | undefined): { headers: Record<string, string>; body: string | undefined } {
  const fill = (text: string) => {
    if (value === undefined) return text;
    if (typeof value === 'string') return text.split('{{value}}').join(value);
    let filled = text;
    for (const [key, part] of Object.entries(value)) filled = filled.split(`{{${key}}}`).join(part);
    return filled;
  };
  const headers: Record<string, string> = {};
  for (const [name, text] of Object.entries(template.headers)) headers[name] = fill(text);
  return { headers, body: template.body === null ? undefined : fill(template.body) };
}

/**
 * Sends `total` requests, `concurrency` at a time over `concurrency` kept-alive
 * connections; fails on any unexpected status. Returns the connections it had
 * to open: a new connection costs the server far more than a request, so a
 * counted part should open none.
 */
async function send(agent: Agent, url: string, template: RequestTemplate, total: number, firstValue: number): Promise<number> {
  let next = 0;
  let opened = 0;
  const onSocket = () => {
    opened += 1;
  };
  agent.on('connect', onSocket);
  const worker = async () => {
    while (next < total) {
      const index = firstValue + next;
      next += 1;
      const values = template.values;
      const value = values.length === 0 ? undefined : template.singleUse ? values[index] : values[index % values.length];
      if (template.singleUse && value === undefined) throw new Error('not enough single-use values minted');
      const { headers, body } = requestOf(template, value);
      const status = await new Promise<number>((resolve, reject) => {
        const request = httpRequest(`${url}${template.path}`, { method: template.method, headers, agent }, (response) => {
          response.resume();
          response.once('end', () => resolve(response.statusCode ?? 0));
          response.once('error', reject);
        });
        request.once('error', reject);
        request.end(body);
      });
      const ok = template.expectStatus === undefined ? status < 300 : status === template.expectStatus;
      if (!ok) throw new Error(`${template.method} ${template.path} answered ${status}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.off('connect', onSocket);
  }
  return opened;
}

function callgrindControl(pid: number, ...args: string[]): void {
  execFileSync('callgrind_control', [...args, String(pid)], { stdio: 'ignore' });
}

/** The instructions of the counted part: the dump's `totals:` line, summed over the threads' files. */
function totalInstructions(dir: string, pid: number): number {
  const files = execFileSync('ls', [dir], { encoding: 'utf8' })
    .split('\n')
    .filter((name) => name.startsWith(`callgrind.out.${pid}`));
  let total = 0;
  for (const name of files) {
    const match = /^totals: (\d+)/m.exec(readFileSync(join(dir, name), 'utf8'));
    if (match) total += Number(match[1]);
  }
  return total;
}

/** The peers' servers (bench/servers/), by target name; any other target is Latchkey. */
const PEERS: Record<string, string> = {
  fastify: 'fastify-ceiling.mjs',
  'oidc-provider': 'oidc-provider.mjs',
  'oauth2-server': 'oauth2-server.mjs',
  'durable-floor': 'durable-floor.mjs',
};

async function measure(targetName: string, scenario: string): Promise<{ perRequest: number; opened: number }> {
  const dir = flags.keep ?? mkdtempSync(join(tmpdir(), 'latchkey-callgrind-'));
  mkdirSync(dir, { recursive: true });
  // Counting starts off (--instr-atstart=no) and is switched on around the counted requests only.
  const launcher = ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${dir}/callgrind.out.%p`, `--log-file=${dir}/valgrind.%p.log`];
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const peer = PEERS[targetName];
  const target: BenchServer & { setup?(): Promise<void>; destroy?(): Promise<void> } = peer
    ? new PeerServer(targetName, peer, { cpu: CPUS.server, launcher })
    : new LatchkeyTarget(targetName === 'latchkey-postgres' ? 'postgres' : 'sqlite', { cpu: CPUS.server, launcher });
  try {
    await target.setup?.();
    await target.start();
    const template = scenario === 'healthz' ? HEALTHZ : await target.prepare(scenario, warmup + count);
    if (!template) throw new Error(`${targetName} has no scenario ${scenario}`);
    await send(agent, target.url, template, warmup, 0);
    const pid = target.pid as number;
    callgrindControl(pid, '--instr=on');
    const opened = await send(agent, target.url, template, count, warmup);
    callgrindControl(pid, '--instr=off');
    callgrindControl(pid, '--dump');
    return { perRequest: totalInstructions(dir, pid) / count, opened };
  } finally {
    agent.destroy();
    await target.stop();
    await target.destroy?.();
    if (!flags.keep) rmSync(dir, { recursive: true, force: true });
  }
}

for (const targetName of (flags.targets as string).split(',')) {
  for (const scenario of (flags.scenarios as string).split(',')) {
    if (targetName === 'fastify' ? !['get', 'post'].includes(scenario) : ['get', 'post'].includes(scenario)) continue;
    const { perRequest, opened } = await measure(targetName, scenario);
    const reopened = opened === 0 ? '' : ` (${opened} connections opened while counting: the figure includes their cost)`;
    console.log(`${targetName} ${scenario}: ${Math.round(perRequest).toLocaleString('en-US')} instructions per request${reopened}`);
  }
}
