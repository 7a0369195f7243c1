#!/usr/bin/env node
// Runs the test suite with node's test runner and tsx. Node 20 does not expand
// globs, so the files are listed here. `node scripts/test.mjs unit http` runs
// only the named folders under tests/.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function testFiles(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return testFiles(path);
      return name.endsWith('.test.ts') ? [path] : [];
    });
}

const folders = process.argv.slice(2);
const files = (folders.length ? folders.map((folder) => join('tests', folder)) : ['tests']).flatMap(testFiles);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
