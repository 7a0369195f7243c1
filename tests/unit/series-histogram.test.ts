/**
 * SeriesHistogram: the same exposition as prom-client's own Histogram for the
 * same observations (so Prometheus and its dashboards see no difference), in
 * text and JSON, with "less than or equal" buckets.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { SeriesHistogram } from '../../src/http/series-histogram.js';

const BUCKETS = [0.005, 0.01, 0.1, 1];
/** On a bound, between bounds, below the first and above the last (+Inf only). */
const OBSERVATIONS: Array<[Record<'method' | 'route', string>, number]> = [
  [{ method: 'GET', route: '/api/me' }, 0.005],
  [{ method: 'GET', route: '/api/me' }, 0.0051],
  [{ method: 'GET', route: '/api/me' }, 0.0001],
  [{ method: 'POST', route: '/oauth/token' }, 0.5],
  [{ method: 'POST', route: '/oauth/token' }, 7],
  [{ method: 'GET', route: '/api/me' }, 1],
];

function both(): { ours: Registry; theirs: Registry; series: SeriesHistogram<'method' | 'route'> } {
  const ours = new Registry();
  const theirs = new Registry();
  const series = new SeriesHistogram('latency_seconds', 'Latency.', ['method', 'route'], BUCKETS, ours);
  const reference = new Histogram({ name: 'latency_seconds', help: 'Latency.', labelNames: ['method', 'route'], buckets: BUCKETS, registers: [theirs] });
  for (const [labels, value] of OBSERVATIONS) {
    series.series(labels).observe(value);
    reference.observe(labels, value);
  }
  return { ours, theirs, series };
}

describe('SeriesHistogram', () => {
  test('exposes what prom-client exposes for the same observations, as text and as JSON', async () => {
    const { ours, theirs } = both();
    assert.equal(await ours.metrics(), await theirs.metrics());
    // Exemplars (OpenMetrics) are not enabled: prom-client's JSON says so with an empty field per sample.
    const withoutExemplars = (json: unknown) => JSON.parse(JSON.stringify(json, (key, value) => (key === 'exemplar' ? undefined : value)));
    assert.deepEqual(withoutExemplars(await ours.getMetricsAsJSON()), withoutExemplars(await theirs.getMetricsAsJSON()));
  });

  test('a label set is one series, however often it is asked for', () => {
    const { series } = both();
    assert.equal(series.series({ method: 'GET', route: '/api/me' }), series.series({ route: '/api/me', method: 'GET' }));
    assert.deepEqual(
      [...series.all()].map((entry) => [entry.labels, entry.count]),
      [
        [{ method: 'GET', route: '/api/me' }, 4],
        [{ method: 'POST', route: '/oauth/token' }, 2],
      ],
    );
  });

  test('reset empties it; buckets must increase', async () => {
    const { ours, series } = both();
    ours.resetMetrics();
    assert.deepEqual([...series.all()], []);
    assert.doesNotMatch(await ours.metrics(), /latency_seconds_bucket/);
    assert.throws(() => new SeriesHistogram('x', 'x', [], [1, 1], new Registry()), TypeError);
  });
});
