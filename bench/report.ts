/** Turning measured rounds into the tables and the target verdicts of bench/RESULTS.md. */
import { type LoadResult, median } from './common.js';

export interface Row {
  server: string;
  scenario: string;
  rounds: LoadResult[];
}

export interface Summary {
  server: string;
  scenario: string;
  rps: number;
  p50: number;
  p99: number;
  failed: number;
  requests: number;
  /** Median server CPU per request, µs (NaN when not measured). */
  cpu: number;
}

export function summarise(row: Row): Summary {
  return {
    server: row.server,
    scenario: row.scenario,
    rps: median(row.rounds.map((round) => round.requestsPerSecond)),
    p50: median(row.rounds.map((round) => round.latencyP50)),
    p99: median(row.rounds.map((round) => round.latencyP99)),
    cpu: median(row.rounds.flatMap((round) => (round.serverCpuMicros === undefined ? [] : [round.serverCpuMicros]))),
    failed: row.rounds.reduce((sum, round) => sum + round.failed, 0),
    requests: row.rounds.reduce((sum, round) => sum + round.total, 0),
  };
}

/** The ceiling row each scenario is compared with: a form POST for the token endpoint, a GET for bearer checks. */
export function ceilingOf(scenario: string): string {
  return scenario.startsWith('bearer') ? 'get' : 'post';
}

const number = (value: number, digits = 0) =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';

/** The comparison table: one line per server and scenario, with Latchkey SQLite's rate over each. */
export function comparisonTable(summaries: Summary[], reference = 'latchkey-sqlite'): string {
  const lines = [
    '| scenario | server | median req/s | p50 ms | p99 ms | non-2xx | server CPU µs/req | Latchkey SQLite ÷ this |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const byScenario = new Map<string, Summary[]>();
  for (const summary of summaries) {
    const scenario = summary.server === 'fastify' ? `ceiling (${summary.scenario})` : summary.scenario;
    byScenario.set(scenario, [...(byScenario.get(scenario) ?? []), summary]);
  }
  for (const [scenario, rows] of byScenario) {
    for (const row of rows) {
      const ours = row.server === 'fastify' ? undefined : summaries.find((s) => s.server === reference && s.scenario === row.scenario);
      lines.push(
        `| ${scenario} | ${row.server} | ${number(row.rps)} | ${number(row.p50, 1)} | ${number(row.p99, 1)} | ${row.failed} | ${number(row.cpu)} | ${ours ? `${number(ours.rps / row.rps, 2)}×` : ''} |`,
      );
    }
  }
  return lines.join('\n');
}

export interface Verdict {
  target: string;
  measured: string;
  met: boolean;
  /**
   * The same ratio for the durable floor (bench/servers/durable-floor.mjs), when it ran:
   * where the least a durable server on this stack can do lands against the target.
   */
  floor?: { measured: string; reaches: boolean };
}

/** The server that does the least a durable token server must (bench/servers/durable-floor.mjs). */
export const FLOOR = 'durable-floor';

/**
 * The verdicts on issue 7's comparison targets, from the compare section's rows.
 * Each target reads, as the issue sets it, the ratio of the two servers'
 * medians over the rounds; each also lists the ratio within each round, where
 * the servers ran one right after the other (they alternate within a round).
 * The machine's speed moves between rounds by more than the targets' margins
 * (ANALYSIS.md: one run's GET ceiling gave 47,972 to 76,736 a second), and a
 * ratio within one round shares that round's speed: the list shows how far
 * the verdict would move with the rounds.
 */
export function comparisonVerdicts(rows: Row[]): Verdict[] {
  const summaries = rows.map(summarise);
  const find = (server: string, scenario: string) => rows.find((r) => r.server === server && r.scenario === scenario);
  const rate = (server: string, scenario: string) => summaries.find((s) => s.server === server && s.scenario === scenario)?.rps ?? Number.NaN;
  const verdicts: Verdict[] = [];
  const ours = (scenario: string) => rate('latchkey-sqlite', scenario);
  const format = (value: number, unit: 'x' | '%') => (unit === 'x' ? `${number(value, 2)}×` : `${number(value * 100, 0)}%`);
  /** The ratio of medians, and each round's ratio when both rows have the same rounds, more than one. */
  const measured = (value: number, server: string, scenario: string, against: Row | undefined, unit: 'x' | '%') => {
    const rounds = find(server, scenario)?.rounds ?? [];
    const references = against?.rounds ?? [];
    if (rounds.length < 2 || rounds.length !== references.length) return format(value, unit);
    const each = rounds.map((round, index) => format(round.requestsPerSecond / (references[index] as LoadResult).requestsPerSecond, unit));
    return `${format(value, unit)} (each round: ${each.join(', ')})`;
  };
  /** A target on `scenario`'s rate over the `against` row's, for Latchkey and, when it ran, for the floor. */
  const ratio = (target: string, scenario: string, against: Row | undefined, minimum: number, unit: 'x' | '%') => {
    const reference = against ? rate(against.server, against.scenario) : Number.NaN;
    const value = ours(scenario) / reference;
    if (!Number.isFinite(value)) return;
    const verdict: Verdict = { target, measured: measured(value, 'latchkey-sqlite', scenario, against, unit), met: value >= minimum };
    const floor = rate(FLOOR, scenario) / reference;
    if (Number.isFinite(floor)) verdict.floor = { measured: measured(floor, FLOOR, scenario, against, unit), reaches: floor >= minimum };
    verdicts.push(verdict);
  };
  ratio('rotating refresh ≥ 3× oidc-provider', 'refresh', find('oidc-provider', 'refresh'), 3, 'x');
  ratio('rotating refresh ≥ 40% of the Fastify form-POST ceiling', 'refresh', find('fastify', 'post'), 0.4, '%');
  ratio('code exchange (PKCE) ≥ 3× oidc-provider', 'code', find('oidc-provider', 'code'), 3, 'x');
  ratio('opaque bearer validation ≥ 50% of the Fastify GET ceiling', 'bearer_opaque', find('fastify', 'get'), 0.5, '%');
  ratio('JWT bearer validation ≥ 70% of the Fastify GET ceiling', 'bearer_jwt', find('fastify', 'get'), 0.7, '%');
  const latchkey = summaries.filter((s) => s.server.startsWith('latchkey'));
  if (latchkey.length > 0) {
    const failed = latchkey.reduce((sum, s) => sum + s.failed, 0);
    verdicts.push({ target: 'zero non-2xx from Latchkey', measured: `${failed} of ${latchkey.reduce((sum, s) => sum + s.requests, 0)}`, met: failed === 0 });
  }
  for (const summary of summaries.filter((s) => s.server === 'latchkey-postgres')) {
    const sqlite = ours(summary.scenario);
    if (!Number.isFinite(sqlite)) continue;
    const factor = sqlite / summary.rps;
    verdicts.push({ target: `PostgreSQL within 2× of SQLite: ${summary.scenario}`, measured: `SQLite ÷ PostgreSQL = ${number(factor, 2)}`, met: factor <= 2 });
  }
  return verdicts;
}

/**
 * How much `after`'s rate changed from `before`'s, for two rows measured in the
 * same rounds, one right after the other: each round's own change, and their
 * median. The machine's speed drifts between rounds by more than the growth
 * verdict's 20% (the fifteenth pass of ANALYSIS.md saw 3,893 to 7,181 a second
 * for one server and size within one run), and a pair measured back to back
 * shares its moment's speed; medians taken per row each pick a different round.
 */
export function roundByRoundChange(before: Row, after: Row): { change: number; rounds: number[] } {
  if (before.rounds.length !== after.rounds.length) throw new TypeError('roundByRoundChange takes two rows measured in the same rounds');
  const rounds = before.rounds.map((round, index) => (after.rounds[index] as LoadResult).requestsPerSecond / round.requestsPerSecond - 1);
  return { change: median(rounds), rounds };
}

/** Issue 7's growth target: at the larger size, throughput falls by no more than 20%. */
export function growthVerdict(target: string, before: Row, after: Row): Verdict {
  const { change, rounds } = roundByRoundChange(before, after);
  const percent = (value: number) => `${value >= 0 ? '+' : ''}${number(value * 100, 1)}%`;
  return { target, measured: `${percent(change)} (round by round: ${rounds.map(percent).join(', ')})`, met: change >= -0.2 };
}

export function verdictTable(verdicts: Verdict[]): string {
  const met = (v: Verdict) => (v.met ? 'yes' : '**no**');
  if (!verdicts.some((v) => v.floor)) {
    return ['| target | measured | met |', '| --- | --- | --- |', ...verdicts.map((v) => `| ${v.target} | ${v.measured} | ${met(v)} |`)].join('\n');
  }
  const floor = (v: Verdict) => (v.floor ? `${v.floor.measured}${v.floor.reaches ? '' : ' (below the target)'}` : '');
  return [
    '| target | measured | the durable floor | met |',
    '| --- | --- | --- | --- |',
    ...verdicts.map((v) => `| ${v.target} | ${v.measured} | ${floor(v)} | ${met(v)} |`),
  ].join('\n');
}

export function mebibytes(bytes: number): string {
  return `${number(bytes / 1048576, 1)} MiB`;
}

export { number };
