/**
 * keepTickObjectShape (src/tick-object-shape.ts) keeps one of Node's tick
 * objects alive: the hidden class V8's feedback for process.nextTick names is
 * then never collected. What it saves is counted in instructions, by the
 * benchmark (ANALYSIS.md, nineteenth pass); here, that what it keeps is a tick
 * object, and that its hidden class is still the one new tick objects get after
 * full collections.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/schema.js';
import { startServer } from '../../src/server.js';
import { keepTickObjectShape, keptTickObject } from '../../src/tick-object-shape.js';

// First in this file (its tests run in order, in a process of their own): nothing has kept one yet.
test('a server keeps one from its start', async () => {
  assert.equal(keptTickObject(), undefined);
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-tick-'));
  try {
    const server = await startServer(loadConfig({ port: 0, host: '127.0.0.1', dataDir }, {}));
    try {
      assert.notEqual(keptTickObject(), undefined);
    } finally {
      await server.stop(1);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("it keeps one of process.nextTick's tick objects, the same one on every call", async () => {
  const kept = await keepTickObjectShape();
  assert.equal(typeof (kept as { callback?: unknown }).callback, 'function');
  assert.ok('args' in kept);
  const symbols = Object.getOwnPropertySymbols(kept);
  assert.deepEqual(
    symbols.map((symbol) => symbol.description),
    ['async_id_symbol', 'trigger_async_id_symbol'],
  );
  for (const symbol of symbols) assert.equal(typeof (kept as Record<symbol, unknown>)[symbol], 'number');
  assert.equal(await keepTickObjectShape(), kept);
});

test('after full collections, a new tick object has the hidden class of the one kept', async () => {
  const module = new URL('../../src/tick-object-shape.ts', import.meta.url).href;
  // %HaveSameMap is V8's own test function; eval, so that tsx does not parse it.
  const script = `
    import { executionAsyncResource } from 'node:async_hooks';
    import { keepTickObjectShape } from ${JSON.stringify(module)};
    const kept = await keepTickObjectShape();
    for (let round = 0; round < 3; round++) {
      globalThis.gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const fresh = await new Promise((resolve) => process.nextTick(() => resolve(executionAsyncResource())));
    console.log(JSON.stringify({ sameMap: eval('%HaveSameMap(kept, fresh)'), distinct: kept !== fresh }));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--allow-natives-syntax', '--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script]);
  assert.deepEqual(JSON.parse(stdout), { sameMap: true, distinct: true });
});
