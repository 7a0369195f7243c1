/**
 * The benchmark's load generator (bench/load.mjs) against a server that
 * answers every request: single-use values are each sent once, and a round
 * that sends more requests than it was given values says how many it sent
 * again (`reused`), so that their refusals are read as the harness's
 * shortfall, not the server's.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { LoadResult } from '../../bench/common.js';

describe('bench/load.mjs', () => {
  const bodies: string[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => void (body += chunk.toString()));
    request.on('end', () => {
      bodies.push(body);
      response.end('{}');
    });
  });
  let url = '';
  let dir = '';

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = mkdtempSync(join(tmpdir(), 'latchkey-load-'));
  });

  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs one job of single-use values for about a second (not synchronously: the server answering is this process); the generator's own result. */
  async function run(values: string[]): Promise<LoadResult> {
    bodies.length = 0;
    const job = join(dir, 'job.json');
    const spec = { url, method: 'POST', path: '/', headers: { 'content-type': 'text/plain' }, body: 'value={{value}}', values, singleUse: true, connections: 2, durationSeconds: 1 };
    writeFileSync(job, JSON.stringify(spec));
    const { stdout } = await promisify(execFile)(process.execPath, ['bench/load.mjs', job], { encoding: 'utf8' });
    return JSON.parse(stdout.trim().split('\n').pop() as string) as LoadResult;
  }

  test('values enough for the round: each sent once, none reused', async () => {
    const values = Array.from({ length: 200_000 }, (_, index) => `v${index}`);
    const result = await run(values);
    assert.ok(result.total > 10, `${result.total} requests`);
    assert.equal(result.reused, 0);
    assert.equal(new Set(bodies).size, bodies.length, 'no value sent twice');
  });

  test('a round that outruns its values counts the ones it sent again', async () => {
    const result = await run(['a', 'b', 'c']);
    assert.ok(result.total > 10, `${result.total} requests`);
    // Requests cut off at the round's end may have been set up but not counted as sent.
    assert.ok(result.reused >= result.total - 3 && result.reused <= bodies.length, `${result.reused} reused of ${result.total}`);
    assert.deepEqual([...new Set(bodies)].sort(), ['value=a', 'value=b', 'value=c']);
  });
});
