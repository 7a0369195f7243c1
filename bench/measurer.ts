/**
 * Measures one scenario on one server: mints enough single-use credentials
 * for the expected rate (from earlier rounds) and runs the load.
 */
import { type BenchServer, cpuMicros, type LoadResult, type RequestTemplate, runLoad } from './common.js';

export interface MeasurerOptions {
  /** Connections the load generator opens, unless a measurement asks for others. */
  connections: number;
  /** How many credentials to mint for a scenario not measured yet on a server. */
  firstMint(scenario: string): number;
  /** The load generator (default: autocannon in its own process, runLoad). */
  load?: typeof runLoad;
  log?(message: string): void;
}

export class Measurer {
  /** Requests per second seen, by server (two servers may share a name: the growth section's) and scenario. */
  private readonly rates = new Map<BenchServer, Map<string, number>>();

  constructor(private readonly options: MeasurerOptions) {}

  /**
   * A round that ran out of credentials (its load sent some again: `reused`)
   * measured refusals of spent ones for part of its time, which says nothing
   * about the server. It is run again once, minted for the rate it saw: a
   * server measured cold (a warm-up) can run several times faster a moment later.
   */
  async measure(server: BenchServer, scenario: string, durationSeconds: number, connections = this.options.connections): Promise<LoadResult | undefined> {
    const first = await this.measureOnce(server, scenario, durationSeconds, connections);
    if (first === undefined || first.reused === 0) return first;
    this.options.log?.(`${server.name} ${scenario}: ran out of credentials (${first.reused} sent again); measured again`);
    return this.measureOnce(server, scenario, durationSeconds, connections);
  }

  private async measureOnce(server: BenchServer, scenario: string, durationSeconds: number, connections: number): Promise<LoadResult | undefined> {
    const rates = this.rates.get(server) ?? new Map<string, number>();
    this.rates.set(server, rates);
    const expected = rates.get(scenario);
    const count = expected === undefined ? this.options.firstMint(scenario) : Math.ceil(expected * durationSeconds * 2.5) + 1000;
    const template: RequestTemplate | undefined = await server.prepare(scenario, count);
    if (!template) return undefined;
    const cpuBefore = server.pid === undefined ? undefined : cpuMicros(server.pid);
    const result = await (this.options.load ?? runLoad)(server.url, template, { durationSeconds, connections });
    const cpuAfter = server.pid === undefined ? undefined : cpuMicros(server.pid);
    if (cpuBefore !== undefined && cpuAfter !== undefined && result.total > 0) result.serverCpuMicros = (cpuAfter - cpuBefore) / result.total;
    // The next mint follows the rate seen, refusals included: a round that ran out of credentials only shows a lower bound.
    rates.set(scenario, Math.max(result.total / durationSeconds, expected ?? 0));
    return result;
  }
}
