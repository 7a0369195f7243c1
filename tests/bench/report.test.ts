/**
 * The verdicts of bench/report.ts. The growth verdict: the two sizes are measured in turn,
 * round by round, and the verdict reads each round's own change, so that the
 * machine's drift between rounds falls on both sides of a pair.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LoadResult } from '../../bench/common.js';
import { comparisonVerdicts, FLOOR, growthVerdict, type Row, roundByRoundChange, summarise, verdictTable } from '../../bench/report.js';

function row(...rates: number[]): Row {
  return rowOf('latchkey-postgres', 'bearer_opaque', ...rates);
}

function rowOf(server: string, scenario: string, ...rates: number[]): Row {
  const round = (requestsPerSecond: number): LoadResult => ({
    requestsPerSecond,
    total: requestsPerSecond * 10,
    ok: requestsPerSecond * 10,
    failed: 0,
    errors: 0,
    timeouts: 0,
    latencyP50: 1,
    latencyP99: 4,
    statuses: { '2xx': requestsPerSecond * 10 },
    reused: 0,
  });
  return { server, scenario, rounds: rates.map(round) };
}

describe('growth verdict', () => {
  test('reads each round against its own pair, not the medians of each size', () => {
    // The full run of the fifteenth pass: the machine slowed in round 3, for both sizes.
    const small = row(4513, 4842, 3538);
    const large = row(3864, 3401, 3478);
    const ratioOfMedians = summarise(large).rps / summarise(small).rps - 1;
    assert.ok(ratioOfMedians < -0.2, 'the medians of each size read a fall of more than 20%');
    const { change, rounds } = roundByRoundChange(small, large);
    assert.deepEqual(
      rounds.map((value) => Number(value.toFixed(4))),
      [-0.1438, -0.2976, -0.017],
    );
    assert.equal(change, rounds[0]);
    const verdict = growthVerdict('postgres bearer_opaque', small, large);
    assert.equal(verdict.met, true);
    assert.equal(verdict.measured, '-14.4% (round by round: -14.4%, -29.8%, -1.7%)');
  });

  test('a fall of more than 20% in most rounds is not met', () => {
    const verdict = growthVerdict('sqlite refresh_chain', row(5000, 5200, 4800), row(3900, 4300, 3800));
    assert.equal(verdict.met, false);
    assert.match(verdict.measured, /^-20\.8% /);
  });

  test('growth reads with its sign, and exactly 20% is met', () => {
    assert.equal(growthVerdict('x', row(1000), row(1100)).measured, '+10.0% (round by round: +10.0%)');
    assert.equal(growthVerdict('x', row(1000), row(800)).met, true);
    assert.equal(growthVerdict('x', row(1000), row(799)).met, false);
  });

  test('rows of different rounds are a programmer mistake', () => {
    assert.throws(() => roundByRoundChange(row(1, 2), row(1)), TypeError);
  });
});

describe('target verdicts', () => {
  test('say where the durable floor lands against each target, when it ran', () => {
    const verdicts = comparisonVerdicts([
      rowOf('latchkey-sqlite', 'refresh', 5000),
      rowOf('oidc-provider', 'refresh', 2500),
      rowOf(FLOOR, 'refresh', 8000),
      rowOf('fastify', 'post', 40_000),
      rowOf('latchkey-sqlite', 'bearer_opaque', 18_000),
      rowOf(FLOOR, 'bearer_opaque', 24_000),
      rowOf('fastify', 'get', 40_000),
    ]);
    const byTarget = new Map(verdicts.map((verdict) => [verdict.target, verdict]));
    assert.deepEqual(byTarget.get('rotating refresh ≥ 3× oidc-provider'), {
      target: 'rotating refresh ≥ 3× oidc-provider',
      measured: '2.00×',
      met: false,
      floor: { measured: '3.20×', reaches: true },
    });
    assert.deepEqual(byTarget.get('rotating refresh ≥ 40% of the Fastify form-POST ceiling')?.floor, { measured: '20%', reaches: false });
    assert.deepEqual(byTarget.get('opaque bearer validation ≥ 50% of the Fastify GET ceiling')?.floor, { measured: '60%', reaches: true });
    // No code or JWT rows: no verdict for them.
    assert.equal(byTarget.has('code exchange (PKCE) ≥ 3× oidc-provider'), false);
    const table = verdictTable(verdicts);
    assert.match(table, /^\| target \| measured \| the durable floor \| met \|$/m);
    assert.match(table, /^\| rotating refresh ≥ 40% of the Fastify form-POST ceiling \| 13% \| 20% \(below the target\) \| \*\*no\*\* \|$/m);
    assert.match(table, /^\| zero non-2xx from Latchkey \| 0 of 230000 \| {2}\| yes \|$/m);
  });

  test('keep three columns when the floor did not run', () => {
    const verdicts = comparisonVerdicts([rowOf('latchkey-sqlite', 'refresh', 9000), rowOf('oidc-provider', 'refresh', 3000)]);
    assert.equal(verdicts[0]?.floor, undefined);
    assert.equal(verdicts[0]?.met, true);
    assert.match(verdictTable(verdicts), /^\| target \| measured \| met \|\n\| --- \| --- \| --- \|\n\| rotating refresh ≥ 3× oidc-provider \| 3\.00× \| yes \|/);
  });

  test("list each round's own ratio beside the ratio of medians, which the target reads", () => {
    // Round 2 was slow for both servers, and each round's ratio is its own: from 3.00× to 2.78× for Latchkey.
    const verdicts = comparisonVerdicts([
      rowOf('latchkey-sqlite', 'refresh', 6000, 4000, 5000),
      rowOf('oidc-provider', 'refresh', 2000, 1400, 1800),
      rowOf(FLOOR, 'refresh', 6300, 4100, 5600),
    ]);
    assert.deepEqual(verdicts[0], {
      target: 'rotating refresh ≥ 3× oidc-provider',
      measured: '2.78× (each round: 3.00×, 2.86×, 2.78×)',
      met: false,
      floor: { measured: '3.11× (each round: 3.15×, 2.93×, 3.11×)', reaches: true },
    });
  });

  test('list no rounds for rows of different rounds, or of one', () => {
    const uneven = comparisonVerdicts([rowOf('latchkey-sqlite', 'refresh', 6000, 4000), rowOf('oidc-provider', 'refresh', 2000, 1400, 1800)]);
    assert.equal(uneven[0]?.measured, '2.78×');
    const single = comparisonVerdicts([rowOf('latchkey-sqlite', 'refresh', 6000), rowOf('oidc-provider', 'refresh', 2000)]);
    assert.equal(single[0]?.measured, '3.00×');
  });
});
