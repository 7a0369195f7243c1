/**
 * The profile tools of the benchmark (bench/flamegraph.mjs, bench/profile.mjs)
 * on a small V8 CPU profile whose figures are known: idle time left out,
 * inclusive times summed up the stack, narrow boxes hidden.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const frame = (functionName: string, url: string, lineNumber: number) => ({ functionName, url, lineNumber, columnNumber: 0, scriptId: '0' });

/**
 * (root) → main (node:internal) → handler (src) → lookup (a package), and handler → tiny (dist),
 * plus (idle). Samples: handler 3 ms, lookup 1.5 ms, tiny 0.01 ms, idle 10 ms.
 */
const PROFILE = {
  nodes: [
    { id: 1, callFrame: frame('(root)', '', -1), children: [2, 6] },
    { id: 2, callFrame: frame('main', 'node:internal/main', 9), children: [3] },
    { id: 3, callFrame: frame('handler', 'file:///app/src/http/routes/api.ts', 2), children: [4, 5] },
    { id: 4, callFrame: frame('lookup', 'file:///app/node_modules/kysely/dist/esm/kysely.js', 40), children: [] },
    { id: 5, callFrame: frame('tiny', 'file:///app/dist/http/metrics.js', 0), children: [] },
    { id: 6, callFrame: frame('(idle)', '', -1), children: [] },
  ],
  startTime: 0,
  endTime: 14_510,
  samples: [3, 3, 3, 4, 6, 5],
  timeDeltas: [1000, 1000, 1000, 1500, 10_000, 10],
};

let dir: string;
let file: string;

function run(script: string, args: string[]) {
  return spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-flamegraph-'));
  file = join(dir, 'test.cpuprofile');
  writeFileSync(file, JSON.stringify(PROFILE));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('bench/flamegraph.mjs', () => {
  it('draws each function as wide as its inclusive CPU time, idle left out', () => {
    const { status, stdout } = run('bench/flamegraph.mjs', ['--title', 'test <profile>', file]);
    assert.equal(status, 0);
    assert.match(stdout, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(stdout, /^<svg [^>]+>\n<title>test &#60;profile&#62;<\/title>/, 'the title, escaped, is the picture\'s alternative text');
    assert.match(stdout, /CPU time 0\.00 s \(idle left out\)/);
    // 4.51 ms busy: main and handler carry everything, lookup its own 1.5 ms.
    assert.match(stdout, /<title>main node:internal\/main:10: 4\.5 ms, 100\.00%<\/title>/);
    assert.match(stdout, /<title>handler src\/http\/routes\/api\.ts:3: 4\.5 ms, 100\.00%<\/title>/);
    assert.match(stdout, /<title>lookup kysely:41: 1\.5 ms, 33\.26%<\/title>/);
    assert.doesNotMatch(stdout, /\(idle\)/);
    // 0.22% of the time: shown at the default 0.2%, hidden at 1%.
    assert.match(stdout, /<title>tiny dist\/http\/metrics\.js:1:/);
    assert.doesNotMatch(run('bench/flamegraph.mjs', ['--min-percent', '1', file]).stdout, /tiny/);
  });

  it('prints folded stacks (one line per stack, µs) with --folded', () => {
    const { status, stdout } = run('bench/flamegraph.mjs', ['--folded', file]);
    assert.equal(status, 0);
    assert.deepEqual(stdout.trim().split('\n').sort(), [
      'main node:internal/main:10;handler src/http/routes/api.ts:3 3000',
      'main node:internal/main:10;handler src/http/routes/api.ts:3;lookup kysely:41 1500',
      'main node:internal/main:10;handler src/http/routes/api.ts:3;tiny dist/http/metrics.js:1 10',
    ]);
  });

  it('merges several profiles and refuses to run without one', () => {
    const twice = run('bench/flamegraph.mjs', ['--folded', file, file]).stdout;
    assert.match(twice, /;lookup kysely:41 3000$/m);
    const none = run('bench/flamegraph.mjs', []);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /^usage: /);
  });
});

describe('bench/profile.mjs', () => {
  it('summarises CPU time by place and function, idle left out', () => {
    const { status, stdout } = run('bench/profile.mjs', [file]);
    assert.equal(status, 0);
    assert.match(stdout, /samples: 6, CPU time \(idle left out\): 0\.0 s/);
    assert.match(stdout, /^ 66\.5% {2}src\/http\/routes\/api\.ts$/m);
    assert.match(stdout, /^ 33\.3% {2}kysely$/m);
    assert.match(stdout, /^100\.0% {2}handler src\/http\/routes\/api\.ts:3$/m);
    assert.doesNotMatch(stdout, /idle\)/);
  });
});
