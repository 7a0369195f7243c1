// Preloaded into Latchkey by the benchmark's memory section only (`--expose-gc
// --require`): on SIGUSR2 the process collects its garbage in full, then writes
// process.memoryUsage() as JSON to $LATCHKEY_BENCH_MEMORY_REPORT. The resident
// set read during load lands anywhere in the collector's cycle; what is left
// after a full collection is what the server holds on to, so a leak shows there.
const { renameSync, writeFileSync } = require('node:fs');

const report = process.env.LATCHKEY_BENCH_MEMORY_REPORT;
if (!report) throw new Error('LATCHKEY_BENCH_MEMORY_REPORT is not set');
if (typeof globalThis.gc !== 'function') throw new Error('collect-on-signal.cjs needs --expose-gc');

process.on('SIGUSR2', () => {
  // The second collection frees what the first one's finalizers released.
  globalThis.gc();
  globalThis.gc();
  writeFileSync(`${report}.tmp`, JSON.stringify(process.memoryUsage()));
  renameSync(`${report}.tmp`, report);
});
