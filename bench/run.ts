/**
 * `npm run bench`: Latchkey side by side with oidc-provider, @node-oauth/oauth2-server,
 * a bare Fastify ceiling and the durable floor (servers/durable-floor.mjs), then
 * memory, growth with data and sign-in cost.
 *
 *   npm run bench                          every section, 3 rounds of 10 s
 *   npm run bench -- --sections compare    only some: compare, memory, scale, signin
 *   npm run bench -- --sections compare --servers latchkey-sqlite,oidc-provider --scenarios refresh
 *                                          only some servers and scenarios
 *   npm run bench -- --write               also write bench/RESULTS.md
 *   npm run bench -- --smoke               one short round of everything (the CI smoke test)
 *   npm run bench -- --profile DIR         write Latchkey's V8 CPU profiles to DIR (see bench/profile.mjs)
 *
 * Servers run pinned to CPU 0 and the load generator (autocannon, its own
 * process) to CPU 1 where taskset exists. Servers alternate round by round so
 * that a noisy moment of the machine does not fall on one server only; the
 * table gives medians over the rounds.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { type BenchServer, CPUS, type LoadResult, median, PeerServer, residentBytes } from './common.js';
import { LatchkeyTarget } from './latchkey.js';
import { Measurer } from './measurer.js';
import { comparisonTable, comparisonVerdicts, FLOOR, growthVerdict, mebibytes, number, type Row, type Summary, summarise, type Verdict, verdictTable } from './report.js';

const { values: flags } = parseArgs({
  options: {
    sections: { type: 'string', default: 'compare,memory,scale,signin' },
    servers: { type: 'string' },
    scenarios: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
    'memory-seconds': { type: 'string', default: '60' },
    'scale-sizes': { type: 'string', default: '10000,1000000' },
    smoke: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    json: { type: 'string' },
    profile: { type: 'string' },
  },
});

const smoke = flags.smoke;
const settings = {
  rounds: smoke ? 1 : Number(flags.rounds),
  durationSeconds: smoke ? 1 : Number(flags.duration),
  warmupSeconds: smoke ? 0 : Number(flags.warmup),
  connections: Number(flags.connections),
  memorySeconds: smoke ? 1 : Number(flags['memory-seconds']),
  scaleSizes: (smoke ? '1000,2000' : (flags['scale-sizes'] as string)).split(',').map(Number),
};
const sections = new Set((flags.sections as string).split(','));
const only = (list: string | undefined) => (list ? new Set(list.split(',')) : undefined);
const serverFilter = only(flags.servers);
const scenarioFilter = only(flags.scenarios);

const SCENARIOS = ['client_credentials', 'refresh', 'code', 'bearer_opaque', 'bearer_jwt', 'introspection'];
const CEILING_SCENARIOS = ['post', 'get'];
/** Growth with data: refreshes chain (each client sends the token it was given), so the run adds no grants. */
const SCALE_SCENARIOS = ['refresh_chain', 'bearer_opaque'];
/**
 * How many single-use credentials to mint when nothing has been measured yet: enough for the
 * warm-up at the fastest token rate seen here (an in-memory peer, some 13,500 req/s), so that the
 * warm-up runs the path it warms rather than refusals of spent credentials, and the rate it sees
 * (which sizes the next mint) is the success path's. Sign-ins cost an argon2 each: far fewer.
 */
const firstMint = (scenario: string) => (scenario === 'signin' ? 300 : Math.max(3000, Math.ceil(settings.warmupSeconds * 15_000)));


function newMeasurer(): Measurer {
  return new Measurer({ connections: settings.connections, firstMint, log });
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function latchkey(dialect: 'sqlite' | 'postgres'): Promise<LatchkeyTarget> {
  return new LatchkeyTarget(dialect, { cpu: CPUS.server, profileDir: flags.profile });
}

function scenariosOf(server: BenchServer): string[] {
  const list = server.name === 'fastify' ? CEILING_SCENARIOS : SCENARIOS;
  return list.filter((scenario) => !scenarioFilter || scenarioFilter.has(scenario) || server.name === 'fastify');
}

async function compare(withPostgres: boolean): Promise<{ summaries: Summary[]; verdicts: Verdict[] }> {
  const candidates: BenchServer[] = [
    await latchkey('sqlite'),
    ...(withPostgres ? [await latchkey('postgres')] : []),
    new PeerServer('oidc-provider', 'oidc-provider.mjs', { cpu: CPUS.server }),
    new PeerServer('oauth2-server', 'oauth2-server.mjs', { cpu: CPUS.server }),
    new PeerServer('fastify', 'fastify-ceiling.mjs', { cpu: CPUS.server }),
    // The least a durable server on this stack can do (ANALYSIS.md, twenty-third pass): the targets' verdicts read it too.
    new PeerServer(FLOOR, 'durable-floor.mjs', { cpu: CPUS.server }),
  ];
  const servers = candidates.filter((server) => !serverFilter || serverFilter.has(server.name));
  const measurer = newMeasurer();
  const rows = new Map<string, Row>();
  const unsupported = new Set<string>();
  try {
    for (const server of servers) {
      if (server instanceof LatchkeyTarget) await server.setup();
      await server.start();
    }
    if (settings.warmupSeconds > 0) {
      for (const server of servers) {
        for (const scenario of scenariosOf(server)) {
          const result = await measurer.measure(server, scenario, settings.warmupSeconds);
          if (!result) unsupported.add(`${server.name}/${scenario}`);
          else log(`warm-up ${server.name} ${scenario}: ${number(result.requestsPerSecond)} req/s, ${result.failed} failed`);
        }
      }
    }
    for (let round = 0; round < settings.rounds; round += 1) {
      // Alternate: each round starts with a different server.
      const order = servers.map((_, index) => servers[(index + round) % servers.length] as BenchServer);
      for (const scenario of [...SCENARIOS, ...CEILING_SCENARIOS]) {
        for (const server of order) {
          if (!scenariosOf(server).includes(scenario) || unsupported.has(`${server.name}/${scenario}`)) continue;
          const result = await measurer.measure(server, scenario, settings.durationSeconds);
          if (!result) {
            unsupported.add(`${server.name}/${scenario}`);
            continue;
          }
          log(`round ${round + 1} ${server.name} ${scenario}: ${number(result.requestsPerSecond)} req/s, ${result.failed} failed${result.failed ? ` ${JSON.stringify({ statuses: result.statuses, errors: result.errors, timeouts: result.timeouts, reused: result.reused })}` : ''}`);
          const key = `${server.name}/${scenario}`;
          const row = rows.get(key) ?? { server: server.name, scenario, rounds: [] };
          row.rounds.push(result);
          rows.set(key, row);
        }
      }
    }
  } finally {
    for (const server of servers) {
      if (server instanceof LatchkeyTarget) await server.destroy();
      else await server.stop();
    }
  }
  return { summaries: [...rows.values()].map(summarise), verdicts: comparisonVerdicts([...rows.values()]) };
}

/** Memory over one load period: the resident set during it, and what is left after a full collection at its end. */
interface PeriodMemory {
  /** Resident set, read once a second during the load: median, peak and the last reading. */
  median: number;
  peak: number;
  end: number;
  /** Right after a full collection once the load has stopped. */
  collected: Collected;
}

/** The resident set and the live JavaScript heap after a full collection. */
interface Collected {
  rss: number;
  heapUsed: number;
}

/**
 * Runs `load` while reading the process's resident memory once a second. One
 * reading at a period's end swings by a quarter with where V8's collector
 * happens to be (measured: 216, 165, then 211 MiB in three periods of one
 * run); the median over the period swings less, but at 5,000 refreshes a
 * second still by as much (eighth pass: +23.4% and −10.1% in runs of one code).
 */
async function sampledMemory<T>(pid: number, load: Promise<T>): Promise<{ result: T; samples: Omit<PeriodMemory, 'collected'> }> {
  const samples: number[] = [];
  const timer = setInterval(() => samples.push(residentBytes(pid)), smoke ? 50 : 1000);
  let result: T;
  try {
    result = await load;
  } finally {
    clearInterval(timer);
  }
  const end = residentBytes(pid);
  samples.push(end);
  return { result, samples: { end, median: median(samples), peak: Math.max(...samples) } };
}

/**
 * What the server holds once idle and collected: a second for the last group
 * commit and log batch to go out, then a full collection in the server.
 */
async function collected(target: LatchkeyTarget): Promise<Collected> {
  await new Promise((resolve) => setTimeout(resolve, smoke ? 100 : 1000));
  const { rss, heapUsed } = await target.memoryAfterCollection();
  return { rss, heapUsed };
}

async function memory(): Promise<{ idle: Collected; periods: PeriodMemory[]; failed: number; verdicts: Verdict[] }> {
  const target = new LatchkeyTarget('sqlite', { cpu: CPUS.server, profileDir: flags.profile, collectOnSignal: true });
  const measurer = newMeasurer();
  try {
    await target.setup();
    await target.start();
    await new Promise((resolve) => setTimeout(resolve, smoke ? 200 : 5000));
    const idle = await collected(target);
    if (settings.warmupSeconds > 0) await measurer.measure(target, 'refresh_chain', settings.warmupSeconds);
    const periods: PeriodMemory[] = [];
    let failed = 0;
    for (let period = 0; period < 3; period += 1) {
      const { result, samples } = await sampledMemory(target.pid as number, measurer.measure(target, 'refresh_chain', settings.memorySeconds));
      const { requestsPerSecond, failed: periodFailed } = result as LoadResult;
      failed += periodFailed;
      const memory = { ...samples, collected: await collected(target) };
      periods.push(memory);
      log(
        `memory: load period ${period + 1}: median ${mebibytes(memory.median)}, peak ${mebibytes(memory.peak)}, at the end ${mebibytes(memory.end)}; ` +
          `collected: resident ${mebibytes(memory.collected.rss)}, heap ${mebibytes(memory.collected.heapUsed)} (${number(requestsPerSecond)} req/s, ${periodFailed} failed)`,
      );
    }
    const growth = (read: (period: PeriodMemory) => number) => (read(periods[2] as PeriodMemory) - read(periods[0] as PeriodMemory)) / read(periods[0] as PeriodMemory);
    const verdict = (target: string, value: number): Verdict => ({ target, measured: `${number(value * 100, 1)}%`, met: value <= 0.1 });
    const verdicts = [
      verdict('memory does not grow across three load periods: live heap after a full collection, ≤ 10% from the first to the third', growth((p) => p.collected.heapUsed)),
      verdict('memory does not grow across three load periods: resident set after a full collection, ≤ 10% from the first to the third', growth((p) => p.collected.rss)),
    ];
    return { idle, periods, failed, verdicts };
  } finally {
    await target.destroy();
  }
}

interface ScaleResult {
  dialect: string;
  sizes: Array<{ grants: number; fillSeconds: number; summaries: Summary[] }>;
  verdicts: Verdict[];
}

/**
 * One server per size, each on its own database filled to that size, measured
 * round by round in turn (as the comparison alternates servers), so that a
 * drift of the machine's speed during the run falls on every size alike.
 */
async function scale(dialect: 'sqlite' | 'postgres'): Promise<ScaleResult> {
  const measurer = newMeasurer();
  const result: ScaleResult = { dialect, sizes: [], verdicts: [] };
  const runs: Array<{ size: number; target: LatchkeyTarget; fillSeconds: number; rows: Map<string, Row> }> = [];
  try {
    for (const size of settings.scaleSizes) {
      const run = { size, target: await latchkey(dialect), fillSeconds: 0, rows: new Map<string, Row>() };
      runs.push(run);
      await run.target.setup();
      const started = Date.now();
      await run.target.fill(size);
      run.fillSeconds = (Date.now() - started) / 1000;
      log(`scale ${dialect}: ${number(size)} filler grants in ${number(run.fillSeconds, 1)} s`);
      await run.target.start();
    }
    for (const scenario of SCALE_SCENARIOS) {
      if (settings.warmupSeconds > 0) for (const { target } of runs) await measurer.measure(target, scenario, settings.warmupSeconds);
      for (let round = 0; round < settings.rounds; round += 1) {
        for (let turn = 0; turn < runs.length; turn += 1) {
          const { size, target, rows } = runs[(turn + round) % runs.length] as (typeof runs)[number];
          const load = (await measurer.measure(target, scenario, settings.durationSeconds)) as LoadResult;
          log(`scale ${dialect} round ${round + 1}, ${number(size)} filler grants, ${scenario}: ${number(load.requestsPerSecond)} req/s`);
          const row = rows.get(scenario) ?? { server: target.name, scenario, rounds: [] };
          row.rounds.push(load);
          rows.set(scenario, row);
        }
      }
    }
    for (const { target, fillSeconds, rows } of runs) {
      result.sizes.push({ grants: await target.countGrants(), fillSeconds, summaries: [...rows.values()].map(summarise) });
    }
  } finally {
    for (const { target } of runs) await target.destroy();
  }
  // The smallest size against the largest (runs and result.sizes are in the same order).
  const last = runs.length - 1;
  if (last > 0) {
    const grants = (index: number) => number((result.sizes[index] as ScaleResult['sizes'][number]).grants);
    for (const scenario of SCALE_SCENARIOS) {
      const before = runs[0]?.rows.get(scenario);
      const after = runs[last]?.rows.get(scenario);
      if (before && after) result.verdicts.push(growthVerdict(`${dialect} ${scenario}: ${grants(last)} live grants within 20% of ${grants(0)}`, before, after));
    }
  }
  return result;
}

async function signin(): Promise<Summary> {
  const target = await latchkey('sqlite');
  const measurer = newMeasurer();
  const row: Row = { server: target.name, scenario: 'signin', rounds: [] };
  try {
    await target.setup();
    await target.start();
    if (settings.warmupSeconds > 0) await measurer.measure(target, 'signin', settings.warmupSeconds, 8);
    for (let round = 0; round < settings.rounds; round += 1) {
      row.rounds.push((await measurer.measure(target, 'signin', settings.durationSeconds, 8)) as LoadResult);
    }
  } finally {
    await target.destroy();
  }
  return summarise(row);
}

async function machine(withPostgres: boolean): Promise<string> {
  const cpus = os.cpus();
  const sqlite = new BetterSqlite3(':memory:');
  const sqliteVersion = (sqlite.prepare('select sqlite_version() as v').get() as { v: string }).v;
  sqlite.close();
  let postgres = 'not reachable';
  if (withPostgres) {
    const client = new pg.Client({ connectionString: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
    await client.connect();
    postgres = ((await client.query('show server_version')).rows[0] as { server_version: string }).server_version;
    await client.end();
  }
  return [
    `- CPU: ${cpus.length} × ${cpus[0]?.model ?? 'unknown'}; memory ${mebibytes(os.totalmem())}; ${os.type()} ${os.release()}`,
    `- Node ${process.version}; SQLite ${sqliteVersion} (WAL; durable commits: each fsynced before it is answered, the default); PostgreSQL ${postgres} on the same machine`,
    `- Pinning: ${CPUS.server === undefined ? 'none (taskset missing or one CPU)' : `servers on CPU ${CPUS.server}, autocannon on CPU ${CPUS.load} (PostgreSQL's own processes are not pinned)`}`,
    `- Rounds: ${settings.rounds} × ${settings.durationSeconds} s per server and scenario after a ${settings.warmupSeconds} s warm-up, ${settings.connections} connections, medians over rounds`,
  ].join('\n');
}

async function main(): Promise<void> {
  const withPostgres = await postgresReachable();
  if (!withPostgres) log('PostgreSQL is not reachable on 127.0.0.1:5432: the PostgreSQL rows are skipped');
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const out: string[] = ['# Benchmark results', '', `Command: \`${command}\` (${new Date().toISOString().slice(0, 10)})`, '', await machine(withPostgres), ''];
  const raw: Record<string, unknown> = { settings };
  const verdicts: Verdict[] = [];

  if (sections.has('compare')) {
    const { summaries, verdicts: found } = await compare(withPostgres);
    raw.compare = summaries;
    verdicts.push(...found);
    out.push(
      '## Side by side',
      '',
      comparisonTable(summaries),
      '',
      "Server CPU µs/req: the CPU time (user + system) the server's process spent per request during the round, median over rounds; steadier than req/s when the machine's neighbours take CPU time. For Latchkey on PostgreSQL it leaves out PostgreSQL's own processes.",
      '',
    );
  }
  if (sections.has('memory')) {
    const result = await memory();
    raw.memory = result;
    verdicts.push(...result.verdicts);
    out.push(
      '## Memory (Latchkey on SQLite, clients rotating their refresh tokens)',
      '',
      '| moment | resident: median | peak | at the end | after a full collection: resident | live heap |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      `| idle after start |  |  |  | ${mebibytes(result.idle.rss)} | ${mebibytes(result.idle.heapUsed)} |`,
      ...result.periods.map(
        (period, index) =>
          `| load period ${index + 1} (${settings.memorySeconds} s) | ${mebibytes(period.median)} | ${mebibytes(period.peak)} | ${mebibytes(period.end)} | ${mebibytes(period.collected.rss)} | ${mebibytes(period.collected.heapUsed)} |`,
      ),
      '',
      'Median and peak: of the resident memory read once a second during the load. After a full collection: a second after the load stopped, the server collects its garbage in full (`bench/servers/collect-on-signal.cjs`, preloaded into this server only) and reports its resident set and the JavaScript heap still in use; the growth verdicts read these.',
      '',
      `Non-2xx during the load: ${result.failed}.`,
      '',
    );
  }
  if (sections.has('scale')) {
    const results: ScaleResult[] = [];
    for (const dialect of ['sqlite', 'postgres'] as const) {
      if ((dialect === 'sqlite' || withPostgres) && (!serverFilter || serverFilter.has(`latchkey-${dialect}`))) results.push(await scale(dialect));
    }
    raw.scale = results;
    out.push('## Growth with data (live grants, each with a live access and refresh token)', '', '| database | live grants | fill time s | scenario | median req/s | p99 ms | server CPU µs/req | non-2xx |', '| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |');
    for (const result of results) {
      verdicts.push(...result.verdicts);
      for (const size of result.sizes) {
        for (const s of size.summaries) {
          out.push(`| ${result.dialect} | ${number(size.grants)} | ${number(size.fillSeconds, 1)} | ${s.scenario} | ${number(s.rps)} | ${number(s.p99, 1)} | ${number(s.cpu)} | ${s.failed} |`);
        }
      }
    }
    out.push('', 'Each size runs on its own server and database; the sizes take turns round by round, and the verdicts read each round\'s change (the two sizes measured one right after the other) and take the median.', '');
  }
  if (sections.has('signin')) {
    const summary = await signin();
    raw.signin = summary;
    out.push(
      '## Sign-in (argon2id at the configured cost: 19 MiB, t=2, p=1)',
      '',
      '| server | median sign-ins/s | p50 ms | p99 ms | not 303 |',
      '| --- | ---: | ---: | ---: | ---: |',
      `| ${summary.server} | ${number(summary.rps, 1)} | ${number(summary.p50, 1)} | ${number(summary.p99, 1)} | ${summary.failed} |`,
      '',
    );
  }
  raw.verdicts = verdicts;
  out.push('## Targets', '', verdictTable(verdicts), '');
  if (verdicts.some((verdict) => verdict.floor)) {
    out.push(
      `The durable floor: the same ratio for ${FLOOR} (bench/servers/durable-floor.mjs), which answers the same requests doing only what a durable token server on this stack cannot skip: Fastify, the security headers and an access-log line, the client's secret checked, every token and spend written to SQLite in Latchkey's schema, and each answer sent after its fsync. The floor does each of these the cheapest way known on this stack: a target it does not reach, Latchkey reaches in this run only if one of them can be done cheaper still.`,
      '',
    );
  }
  const report = out.join('\n');
  process.stdout.write(`${report}\n`);
  if (flags.write) writeFileSync(new URL('./RESULTS.md', import.meta.url), report);
  if (flags.json) writeFileSync(flags.json, JSON.stringify(raw, null, 2));
}

await main();
