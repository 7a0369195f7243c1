/**
 * Prometheus metrics (prom-client), one registry per application. The core
 * knows nothing of them: security events arrive as audit events through the
 * store's hook, query timings through Kysely's log, sweep counts from the
 * housekeeper.
 */
import type { FastifyInstance } from 'fastify';
import type { LogEvent } from 'kysely';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { SweepCounts } from '../services/housekeeping.js';
import type { KyselyStore } from '../store/kysely/store.js';
import type { AuditEvent } from '../store/types.js';
import { type HistogramSeries, SeriesHistogram } from './series-histogram.js';

export interface Metrics {
  registry: Registry;
  /** Counts a token response of this grant type. */
  observeTokenIssued(grantType: string): void;
  /** For openStore's onQuery. */
  observeQuery(event: LogEvent): void;
  /** For the housekeeper's onSweep / onError. */
  observeSweep(counts: SweepCounts): void;
  observeSweepFailure(): void;
  /** Counts the security events among the audit events. */
  observeAudit(event: AuditEvent): void;
  /** Gauges of the store's connection pool (PostgreSQL). */
  watchPool(store: KyselyStore): void;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const QUERY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

/** `processMetrics` adds prom-client's process metrics (CPU, memory, event loop): once per process. */
export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'latchkey_' });
  // Counted in a plain map and read when scraped, like the request counts: prom-client
  // validates and hashes the label set on every inc(), and this runs on every token response.
  const issuedPerGrantType = new Map<string, number>();
  new Counter({
    name: 'latchkey_tokens_issued_total',
    help: 'Token responses sent, per grant type.',
    labelNames: ['grant_type'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [grantType, count] of issuedPerGrantType) this.inc({ grant_type: grantType }, count);
    },
  });
  const reuse = new Counter({
    name: 'latchkey_grant_reuse_detected_total',
    help: 'Grants revoked because a refresh token or authorization code was used twice (possible theft).',
    labelNames: ['credential'] as const,
    registers: [registry],
  });
  const signInFailures = new Counter({
    name: 'latchkey_sign_in_failures_total',
    help: 'Failed sign-ins (web and password grant), per reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const lockouts = new Counter({
    name: 'latchkey_lockouts_total',
    help: 'Lockouts started, per scope (account or ip).',
    labelNames: ['scope'] as const,
    registers: [registry],
  });
  const queries = new SeriesHistogram(
    'latchkey_db_query_duration_seconds',
    'Database query durations, per statement kind and outcome.',
    ['kind', 'outcome'],
    QUERY_BUCKETS,
    registry,
  );
  const swept = new Counter({
    name: 'latchkey_housekeeping_deleted_total',
    help: 'Expired rows deleted by the housekeeping sweep, per table.',
    labelNames: ['table'] as const,
    registers: [registry],
  });
  const sweeps = new Counter({
    name: 'latchkey_housekeeping_sweeps_total',
    help: 'Housekeeping sweeps run, per outcome.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const pools: KyselyStore[] = [];
  const poolGauge = (name: string, help: string, pick: (stats: { total: number; idle: number; waiting: number }) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        let value = 0;
        for (const store of pools) {
          const stats = store.hooks.pool?.();
          if (stats) value += pick(stats);
        }
        this.set(value);
      },
    });
  poolGauge('latchkey_db_pool_connections', 'Open database connections (PostgreSQL pool).', (stats) => stats.total);
  poolGauge('latchkey_db_pool_idle_connections', 'Idle database connections (PostgreSQL pool).', (stats) => stats.idle);
  poolGauge('latchkey_db_pool_waiting_requests', 'Queries waiting for a free connection (PostgreSQL pool).', (stats) => stats.waiting);

  const QUERY_KINDS = new Set(['select', 'insert', 'update', 'delete', 'with', 'begin', 'commit', 'rollback']);
  // Per outcome, keyed by the statement's text itself: the store sends the same string object
  // for each run of a prepared statement, whose hash V8 keeps (a key built by concatenation
  // would be hashed again, character by character, on every query).
  const querySeries = { ok: new Map<string, HistogramSeries<'kind' | 'outcome'>>(), error: new Map<string, HistogramSeries<'kind' | 'outcome'>>() };
  return {
    registry,
    observeTokenIssued(grantType) {
      issuedPerGrantType.set(grantType, (issuedPerGrantType.get(grantType) ?? 0) + 1);
    },
    observeQuery(event) {
      const outcome = event.level === 'error' ? 'error' : 'ok';
      // The store runs a few dozen distinct statements, so each is classified once.
      const known = querySeries[outcome];
      let series = known.get(event.query.sql);
      if (series === undefined) {
        const kind = /^\s*(\w+)/.exec(event.query.sql)?.[1]?.toLowerCase() ?? 'other';
        series = queries.series({ kind: QUERY_KINDS.has(kind) ? kind : 'other', outcome });
        if (known.size >= 1000) known.clear();
        known.set(event.query.sql, series);
      }
      series.observe(event.queryDurationMillis / 1000);
    },
    observeSweep(counts) {
      sweeps.inc({ outcome: 'ok' });
      for (const [table, count] of Object.entries(counts)) swept.inc({ table }, count);
    },
    observeSweepFailure() {
      sweeps.inc({ outcome: 'error' });
    },
    observeAudit(event) {
      if (event.type === 'refresh_token.reuse_detected') reuse.inc({ credential: 'refresh_token' });
      else if (event.type === 'authorization_code.reuse_detected') reuse.inc({ credential: 'authorization_code' });
      else if (event.type === 'signin.failed') signInFailures.inc({ reason: String(event.detail.reason ?? 'unknown') === 'locked' ? 'locked' : 'invalid_credentials' });
      else if (event.type === 'signin.locked') lockouts.inc({ scope: event.detail.scope === 'ip' ? 'ip' : 'account' });
    },
    watchPool(store) {
      if (store.hooks.pool) pools.push(store);
    },
  };
}

/**
 * Request counts and latency per route and status, and GET /metrics.
 * The route label is the route's pattern (never the raw URL), "unmatched" for 404s.
 */
export function registerMetrics(app: FastifyInstance, metrics: Metrics, options: { serve: boolean }): void {
  const latency = new SeriesHistogram(
    'latchkey_http_request_duration_seconds',
    'HTTP request latency, per method, route and status.',
    ['method', 'route', 'status'],
    LATENCY_BUCKETS,
    metrics.registry,
  );
  // The request count is the latency histogram's count per series, read when scraped.
  new Counter({
    name: 'latchkey_http_requests_total',
    help: 'HTTP requests answered, per method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const series of latency.all()) this.inc(series.labels, series.count);
    },
  });
  const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
  // Each (method, route, status) series is found once and kept: this runs on every request.
  // By route, then status, then method, each a key whose hash V8 has already computed: the
  // route pattern and the method are the same strings every time, the status a small
  // integer. A key joined from the three was a new string to hash on every request
  // (1,400 instructions of a `GET /healthz` under callgrind).
  const series = new Map<string, Map<number, Map<string, HistogramSeries<'method' | 'route' | 'status'>>>>();
  // A callback hook: it runs on every request (see security-headers.ts).
  app.addHook('onResponse', (request, reply, done) => {
    const method = METHODS.has(request.method) ? request.method : 'other';
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    let byStatus = series.get(route);
    if (byStatus === undefined) series.set(route, (byStatus = new Map()));
    let byMethod = byStatus.get(status);
    if (byMethod === undefined) byStatus.set(status, (byMethod = new Map()));
    let bound = byMethod.get(method);
    if (bound === undefined) byMethod.set(method, (bound = latency.series({ method, route, status: String(status) })));
    bound.observe(reply.elapsedTime / 1000);
    done();
  });
  if (options.serve) {
    app.get('/metrics', async (_request, reply) => reply.header('cache-control', 'no-store').type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  }
}
