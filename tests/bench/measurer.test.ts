/** How the benchmark sizes what it mints for a round, and a round that ran out (bench/measurer.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BenchServer, LoadResult, RequestTemplate } from '../../bench/common.js';
import { Measurer } from '../../bench/measurer.js';

/** A server that mints what it is asked for, and records how much. */
function server(): BenchServer & { minted: number[] } {
  const minted: number[] = [];
  return {
    name: 'fake',
    pid: undefined,
    url: 'http://127.0.0.1:1',
    minted,
    async start() {},
    async stop() {},
    async prepare(_scenario: string, count: number): Promise<RequestTemplate> {
      minted.push(count);
      return { method: 'POST', path: '/token', headers: {}, body: 'x={{value}}', values: Array.from({ length: count }, (_, index) => String(index)), singleUse: true };
    },
  };
}

/** A load generator that serves `rate` requests a second, and sends values again once those minted run out. */
function loadAt(rates: number[]) {
  const runs: number[] = [];
  const load = async (_url: string, template: RequestTemplate, { durationSeconds }: { durationSeconds: number }): Promise<LoadResult> => {
    const rate = rates[runs.length] ?? (rates.at(-1) as number);
    const total = rate * durationSeconds;
    runs.push(total);
    const reused = Math.max(0, total - template.values.length);
    return {
      requestsPerSecond: rate,
      total,
      ok: total - reused,
      failed: reused,
      errors: 0,
      timeouts: 0,
      latencyP50: 1,
      latencyP99: 2,
      statuses: reused ? { '200': total - reused, '400': reused } : { '200': total },
      reused,
    };
  };
  return { load, runs };
}

describe('the benchmark measurer', () => {
  it('mints for the rate seen before, and a round that ran out is measured again, minted for the rate it saw', async () => {
    const target = server();
    // A cold warm-up at 1,000 a second, then a warm server at 3,500: 2.5 times the warm-up's rate is not enough.
    const { load, runs } = loadAt([1000, 3500, 3500]);
    const logged: string[] = [];
    const measurer = new Measurer({ connections: 4, firstMint: () => 3000, load, log: (line) => logged.push(line) });

    const warmup = await measurer.measure(target, 'refresh', 2);
    assert.equal(warmup?.reused, 0);
    const round = await measurer.measure(target, 'refresh', 10);
    assert.deepEqual(target.minted, [3000, 1000 * 10 * 2.5 + 1000, 3500 * 10 * 2.5 + 1000]);
    assert.equal(runs.length, 3);
    assert.equal(round?.reused, 0, 'the round answered is the one that did not run out');
    assert.equal(round?.ok, 35_000);
    assert.equal(logged.length, 1);
    assert.match(logged[0] as string, /fake refresh: ran out of credentials \(9000 sent again\)/);
  });

  it('measures again at most once, and not at all when the round had enough', async () => {
    const enough = server();
    const steady = loadAt([1000]);
    const measurer = new Measurer({ connections: 4, firstMint: () => 50_000, load: steady.load });
    assert.equal((await measurer.measure(enough, 'code', 10))?.reused, 0);
    assert.equal(steady.runs.length, 1);

    // Faster every time: the second round runs out too, and is answered as it is.
    const short = server();
    const faster = loadAt([10_000, 100_000]);
    const again = new Measurer({ connections: 4, firstMint: () => 1000, load: faster.load });
    const result = await again.measure(short, 'code', 1);
    assert.equal(faster.runs.length, 2);
    assert.ok((result?.reused ?? 0) > 0);
  });
});
