/** What the benchmark's targets, load generator and orchestrator share. */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reservePort } from '../src/server.js';

/**
 * A request template: `{{value}}` in the body or a header value is replaced,
 * request by request, by the next value (for object values, `{{key}}` by each
 * key's value). Single-use values are each sent once across every connection.
 */
export interface RequestTemplate {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body: string | null;
  values: Array<string | Record<string, string>>;
  singleUse: boolean;
  /** The status that counts as success (default: any 2xx). */
  expectStatus?: number;
  /** The response field holding the next value of a chain (a rotated refresh token), when requests chain. */
  chain?: string;
}

/** A server under test. */
export interface BenchServer {
  readonly name: string;
  pid: number | undefined;
  url: string;
  start(): Promise<void>;
  /** The requests of a scenario with `count` fresh credentials; undefined when the server has no such scenario. */
  prepare(scenario: string, count: number): Promise<RequestTemplate | undefined>;
  stop(): Promise<void>;
}

export interface LoadResult {
  requestsPerSecond: number;
  total: number;
  ok: number;
  failed: number;
  errors: number;
  timeouts: number;
  latencyP50: number;
  latencyP99: number;
  statuses: Record<string, number>;
  /** Single-use values sent again because the round used every one minted: their refusals are the harness's shortfall, not the server's. */
  reused: number;
  /** CPU time the server process spent per request, µs (user + system; Linux), when known. */
  serverCpuMicros?: number;
}

const HAS_TASKSET = existsSync('/usr/bin/taskset') && cpuCount() >= 2;

function cpuCount(): number {
  try {
    return Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    return 1;
  }
}

/** The CPUs servers and the load generator run on: one each, where `taskset` exists. */
export const CPUS = HAS_TASKSET ? { server: '0', load: '1' } : { server: undefined, load: undefined };

/** A command line pinned to `cpu` with taskset (which execs, so the pid stays the command's). */
export function pinned(cpu: string | undefined, command: string, args: string[]): [string, string[]] {
  return cpu === undefined ? [command, args] : ['taskset', ['-c', cpu, command, ...args]];
}

/**
 * The command line of a server's Node.js process, pinned to `cpu`: node itself, or node
 * under a launcher (`valgrind --tool=callgrind ...` for bench/instructions.ts).
 */
export function nodeCommand(cpu: string | undefined, args: string[], launcher: readonly string[] = []): [string, string[]] {
  const [command, ...rest] = [...launcher, process.execPath, ...args] as [string, ...string[]];
  return pinned(cpu, command, rest);
}

/**
 * A TCP port nothing uses now: one reserved the way `serve --port 0` does, and
 * released at once, since the server that binds it is another process. Anything
 * may take it before that process binds it: see LatchkeyTarget.start.
 */
export async function freePort(): Promise<number> {
  const reserved = await reservePort('127.0.0.1');
  await reserved.release();
  return reserved.port;
}

/** The server's process ended before it answered (waitForHttp). */
export class ServerExited extends Error {}

/** Polls `url` until it answers 2xx; fails (ServerExited) if the process exits first, or after `timeoutMs`. */
export async function waitForHttp(url: string, exited: Promise<void>, timeoutMs = 60_000): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone) throw new ServerExited(`the server exited before ${url} answered`);
    try {
      // Bounded: whatever holds the port may never answer (see LatchkeyTarget.start).
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

/** Runs one autocannon round in its own process on the load CPU. */
export async function runLoad(url: string, template: RequestTemplate, options: { durationSeconds: number; connections: number }): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-load-'));
  const jobFile = join(dir, 'job.json');
  writeFileSync(jobFile, JSON.stringify({ ...template, url, ...options }));
  try {
    const [command, args] = pinned(CPUS.load, process.execPath, [new URL('./load.mjs', import.meta.url).pathname, jobFile]);
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`the load generator exited with ${code}`))));
    });
    return JSON.parse(output.trim().split('\n').pop() as string) as LoadResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CLOCK_TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time a process has used, µs (user + system, Linux; undefined elsewhere).
 * Steadier than requests per second on a noisy machine: a round that lost
 * the CPU to a neighbour is slower but costs the same CPU per request.
 */
export function cpuMicros(pid: number): number | undefined {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ');
    if (!fields) return undefined;
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Resident memory of a process, bytes (Linux). */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) * 1024;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * A peer server (bench/servers/*.mjs): a process with a control route that mints its own credentials.
 * It listens on a port of the kernel's choosing (PORT=0) and names its URL in its ready line.
 */
export class PeerServer implements BenchServer {
  pid: number | undefined;
  url = '';
  private stopServer: (() => Promise<void>) | undefined;

  constructor(
    readonly name: string,
    private readonly script: string,
    private readonly options: { cpu: string | undefined; launcher?: readonly string[] },
  ) {}

  async start(): Promise<void> {
    const path = new URL(`./servers/${this.script}`, import.meta.url).pathname;
    const child = spawn(...nodeCommand(this.options.cpu, [path], this.options.launcher), {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, PORT: '0', NODE_ENV: 'production' },
    });
    this.pid = child.pid;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.url = await new Promise<string>((resolve, reject) => {
      let text = '';
      const onData = (chunk: Buffer) => {
        text += chunk.toString();
        const ready = /^\{"ready":true.*\}$/m.exec(text);
        if (ready) {
          child.stdout.off('data', onData);
          child.stdout.resume();
          resolve((JSON.parse(ready[0]) as { url: string }).url);
        }
      };
      child.stdout.on('data', onData);
      void exited.then(() => reject(new Error(`${this.name} exited before it was ready`)));
    });
    this.stopServer = async () => {
      child.kill('SIGTERM');
      await exited;
    };
  }

  async prepare(scenario: string, count: number): Promise<RequestTemplate | undefined> {
    const response = await fetch(`${this.url}/__bench/prepare`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scenario, count }),
    });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`${this.name} could not prepare ${scenario}: ${response.status} ${await response.text()}`);
    const template = (await response.json()) as Omit<RequestTemplate, 'singleUse'>;
    return { ...template, singleUse: scenario === 'refresh' || scenario === 'code' };
  }

  async stop(): Promise<void> {
    await this.stopServer?.();
    this.stopServer = undefined;
  }
}
