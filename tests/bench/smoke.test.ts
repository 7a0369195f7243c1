/**
 * Keeps `npm run bench` working: the whole harness (every server, scenario
 * and section) for about a second each. What it checks is that the harness
 * runs and Latchkey answers every benchmark request correctly; how fast is
 * the benchmark's business, never a test's.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort, PeerServer } from '../../bench/common.js';
import { LatchkeyTarget } from '../../bench/latchkey.js';
import { postgresReachable } from '../support/databases.js';

interface Summary {
  server: string;
  scenario: string;
  rps: number;
  failed: number;
  requests: number;
  /** JSON has no NaN: null when not measured. */
  cpu: number | null;
}

describe('the benchmark harness (npm run bench -- --smoke)', () => {
  it('runs every section once and Latchkey answers every request with the expected status', { timeout: 600_000 }, async () => {
    const withPostgres = await postgresReachable();
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-smoke-'));
    const json = join(dir, 'results.json');
    const profiles = join(dir, 'profiles');
    try {
      let stderr = '';
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--json', json, '--profile', profiles], { stdio: ['ignore', 'ignore', 'pipe'] });
        child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
        child.once('exit', resolve);
      });
      assert.equal(code, 0, stderr);
      const results = JSON.parse(readFileSync(json, 'utf8')) as {
        compare: Summary[];
        memory: {
          idle: { rss: number; heapUsed: number };
          periods: Array<{ end: number; median: number; peak: number; collected: { rss: number; heapUsed: number } }>;
          failed: number;
          verdicts: Array<{ met: boolean }>;
        };
        scale: Array<{ dialect: string; sizes: Array<{ grants: number; summaries: Summary[] }> }>;
        signin: Summary;
      };

      const row = (server: string, scenario: string) => results.compare.find((s) => s.server === server && s.scenario === scenario);
      const latchkeys = withPostgres ? ['latchkey-sqlite', 'latchkey-postgres'] : ['latchkey-sqlite'];
      for (const server of latchkeys) {
        for (const scenario of ['client_credentials', 'refresh', 'code', 'bearer_opaque', 'bearer_jwt', 'introspection']) {
          const measured = row(server, scenario);
          assert.ok(measured && measured.requests > 0, `${server} ${scenario} was measured`);
          assert.equal(measured.failed, 0, `${server} ${scenario}: every request answered 2xx`);
          assert.ok((measured.cpu ?? 0) > 0, `${server} ${scenario}: the server's CPU time per request was measured`);
        }
      }
      // The durable floor's rate is a bound the verdicts read: it counts only if every request it answered was right.
      for (const scenario of ['refresh', 'code', 'bearer_opaque', 'bearer_jwt']) {
        const measured = row('durable-floor', scenario);
        assert.ok(measured && measured.requests > 0, `durable-floor ${scenario} was measured`);
        assert.equal(measured.failed, 0, `durable-floor ${scenario}: every request answered 2xx`);
      }
      // The peers and the ceiling ran their scenarios (their statuses are theirs to report, not ours to assert).
      for (const [server, scenario] of [
        ['oidc-provider', 'refresh'],
        ['oidc-provider', 'code'],
        ['oidc-provider', 'introspection'],
        ['oauth2-server', 'refresh'],
        ['oauth2-server', 'bearer_opaque'],
        ['fastify', 'post'],
        ['fastify', 'get'],
      ] as const) {
        assert.ok((row(server, scenario)?.requests ?? 0) > 0, `${server} ${scenario} was measured`);
      }

      assert.ok(results.memory.idle.rss > 0 && results.memory.idle.heapUsed > 0 && results.memory.periods.length === 3, 'memory: idle and three load periods');
      for (const { end, median, peak, collected } of results.memory.periods) {
        assert.ok(end > 0 && median > 0 && peak >= median && peak >= end, 'memory: each period read during and at its end');
        assert.ok(collected.rss > 0 && collected.heapUsed > 0 && collected.heapUsed < collected.rss, 'memory: each period read after a full collection');
      }
      assert.deepEqual(results.memory.verdicts.map((verdict) => typeof verdict.met), ['boolean', 'boolean'], 'memory: the live heap and resident set verdicts');
      assert.equal(results.memory.failed, 0);

      assert.deepEqual(
        results.scale.map((s) => s.dialect),
        withPostgres ? ['sqlite', 'postgres'] : ['sqlite'],
      );
      for (const { dialect, sizes } of results.scale) {
        // 1,000 then 2,000 filler grants, plus the ones the scenarios minted.
        assert.equal(sizes.length, 2);
        assert.ok((sizes[0]?.grants ?? 0) >= 1000 && (sizes[1]?.grants ?? 0) >= 2000, `${dialect}: grants filled`);
        for (const size of sizes) {
          // Each size has its own server, measured in both scenarios.
          assert.deepEqual(size.summaries.map((s) => s.scenario).sort(), ['bearer_opaque', 'refresh_chain'], `${dialect} at ${size.grants}`);
          for (const s of size.summaries) assert.equal(s.failed, 0, `${dialect} ${s.scenario} at ${size.grants}`);
        }
      }

      assert.ok(results.signin.requests > 0, 'sign-ins were measured');
      assert.equal(results.signin.failed, 0, 'every sign-in answered 303');

      // --profile: every Latchkey server wrote a V8 profile, and the flame graph of them shows Latchkey's own code.
      const written = readdirSync(profiles).filter((name) => name.endsWith('.cpuprofile'));
      assert.ok(written.length >= 4, `Latchkey's CPU profiles were written (${written.length})`);
      const flamegraph = spawnSync(process.execPath, ['bench/flamegraph.mjs', ...written.map((name) => join(profiles, name))], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      assert.equal(flamegraph.status, 0, flamegraph.stderr);
      assert.match(flamegraph.stdout, /<title>\S+ dist\/http\/[^<]+: [\d.]+ ms, [\d.]+%<\/title>/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * How the harness gets its servers' ports. A port picked before a server
 * binds it may be taken in between by any outgoing connection on the machine:
 * a CI run once failed when oidc-provider found its port in use.
 */
describe('the benchmark servers and their ports', () => {
  it('a peer listens on a port of its choosing and names it in its ready line', { timeout: 60_000 }, async () => {
    for (const [name, script, scenario] of [
      ['fastify', 'fastify-ceiling.mjs', 'post'],
      ['oidc-provider', 'oidc-provider.mjs', 'refresh'],
      ['oauth2-server', 'oauth2-server.mjs', 'refresh'],
    ] as const) {
      const peer = new PeerServer(name, script, { cpu: undefined });
      try {
        await peer.start();
        assert.match(peer.url, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.notEqual(new URL(peer.url).port, '0', name);
        const template = await peer.prepare(scenario, 1);
        assert.ok(template && template.values.length === 1, `${name} answers its control route at ${peer.url}`);
      } finally {
        await peer.stop();
      }
    }
  });

  it('Latchkey is started again on another port when its port was taken before it could bind it', { timeout: 300_000 }, async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as AddressInfo).port;
    const offered = [taken];
    const target = new LatchkeyTarget('sqlite', { cpu: undefined, ports: async () => offered.shift() ?? freePort() });
    try {
      await target.setup();
      await target.start();
      assert.notEqual(new URL(target.url).port, String(taken));
      assert.equal((await fetch(`${target.url}/readyz`)).status, 200);
    } finally {
      await target.destroy();
      holder.close();
    }
  });
});
