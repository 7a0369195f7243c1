/**
 * Standard output's log lines gather in a LineBatch and reach pino's SonicBoom
 * a batch at a time (src/http/line-batch.ts): in order, within the interval
 * when few, and all of them when the process exits, however it exits.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import pino from 'pino';
import { LineBatch } from '../../src/http/line-batch.js';
import { byteDestination } from '../../src/http/logging.js';

const directory = mkdtempSync(join(tmpdir(), 'latchkey-log-batch-'));
after(() => rmSync(directory, { recursive: true, force: true }));

let files = 0;
/** A LineBatch over pino's SonicBoom (taking bytes, as logging.ts makes it) writing to a file of its own, and the writes the SonicBoom was given. */
function batchToFile(options: { batchLength: number; intervalMs: number }): { batch: LineBatch; path: string; chunks: string[] } {
  const path = join(directory, `log-${++files}`);
  const sink = byteDestination({ dest: path, sync: true });
  const chunks: string[] = [];
  const write = sink.write.bind(sink);
  sink.write = (chunk: Buffer) => {
    assert.ok(Buffer.isBuffer(chunk), 'a batch is handed over as bytes');
    chunks.push(chunk.toString('utf8'));
    return write(chunk);
  };
  return { batch: new LineBatch(sink, options), path, chunks };
}

const lineOf = (n: number) => `${JSON.stringify({ n, msg: 'x'.repeat(80) })}\n`;
/** A line whose UTF-8 is longer than its text: the bytes written are its UTF-8, whole. */
const wideLineOf = (n: number) => `${JSON.stringify({ n, msg: 'é€😀'.repeat(20) })}\n`;

describe('LineBatch', () => {
  test('hands its lines over in order, one write per batch, and the rest when flushed', () => {
    const { batch, path, chunks } = batchToFile({ batchLength: 1000, intervalMs: 60_000 });
    const lines = Array.from({ length: 50 }, (_, n) => lineOf(n));
    for (const line of lines) batch.write(line);
    // 50 lines of 98 characters: a batch of 11 lines reaches 1,000; four such, and six lines left.
    assert.equal(chunks.length, 4);
    assert.ok(chunks.every((chunk) => chunk.length >= 1000 && chunk.length < 1100));
    batch.flushSync();
    assert.equal(chunks.length, 5);
    assert.equal(chunks.join(''), lines.join(''));
    assert.equal(readFileSync(path, 'utf8'), lines.join(''));
    batch.end();
  });

  test('lines outside ASCII are written as their UTF-8, in batches and when flushed', () => {
    const { batch, path } = batchToFile({ batchLength: 200, intervalMs: 60_000 });
    const lines = Array.from({ length: 9 }, (_, n) => (n % 2 === 0 ? wideLineOf(n) : lineOf(n)));
    for (const line of lines) batch.write(line);
    batch.flushSync();
    assert.equal(readFileSync(path, 'utf8'), lines.join(''));
    batch.end();
  });

  test('a few lines do not wait longer than the interval', async () => {
    const { batch, path, chunks } = batchToFile({ batchLength: 4096, intervalMs: 20 });
    batch.write(lineOf(1));
    batch.write(lineOf(2));
    assert.deepEqual(chunks, []);
    const deadline = Date.now() + 5000;
    while (chunks.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(chunks, [lineOf(1) + lineOf(2)]);
    assert.equal(readFileSync(path, 'utf8'), lineOf(1) + lineOf(2));
    batch.end();
  });

  test('pino writes through it, and its flush(callback) hands the lines over', async () => {
    const { batch, path } = batchToFile({ batchLength: 4096, intervalMs: 60_000 });
    const logger = pino({ base: undefined, timestamp: false }, batch);
    logger.info({ n: 1 }, 'first');
    logger.warn('second');
    await new Promise<void>((resolve, reject) => logger.flush((error) => (error ? reject(error) : resolve())));
    assert.deepEqual(
      readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
      [
        { level: 30, n: 1, msg: 'first' },
        { level: 40, msg: 'second' },
      ],
    );
    batch.end();
  });

  test('lines written after the sink was ended are dropped, and writing them does not throw', () => {
    const { batch, path, chunks } = batchToFile({ batchLength: 100, intervalMs: 60_000 });
    batch.write(lineOf(1));
    batch.end();
    for (let n = 2; n <= 20; n++) batch.write(lineOf(n));
    batch.flushSync();
    assert.deepEqual(chunks, [lineOf(1)]);
    assert.equal(readFileSync(path, 'utf8'), lineOf(1));
  });

  test('a batch length or interval that is not positive is a programming error', () => {
    const sink = byteDestination({ dest: join(directory, 'unused'), sync: true });
    for (const options of [
      { batchLength: 0, intervalMs: 250 },
      { batchLength: 4096, intervalMs: Number.NaN },
    ]) {
      assert.throws(() => new LineBatch(sink, options), TypeError);
    }
    sink.end();
  });
});

describe("standard output's lines at exit", () => {
  const run = promisify(execFile);
  /** A process that writes three lines to the logger's standard output, then ends as `ending` says. */
  async function linesOfProcessEnding(ending: string): Promise<string[]> {
    const script = `
      import { loggerOptions } from ${JSON.stringify(new URL('../../src/http/logging.ts', import.meta.url).href)};
      const stdout = loggerOptions('info').stream;
      for (const n of [1, 2, 3]) stdout.write(JSON.stringify({ n }) + '\\n');
      ${ending}
    `;
    const result = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]).catch((error: { stdout: string }) => error);
    return result.stdout.trim().split('\n');
  }

  const expected = ['{"n":1}', '{"n":2}', '{"n":3}'];
  test('are all written when the event loop empties', async () => {
    assert.deepEqual(await linesOfProcessEnding(''), expected);
  });
  test('are all written on process.exit()', async () => {
    assert.deepEqual(await linesOfProcessEnding('process.exit(0);'), expected);
  });
  test('are all written when an uncaught exception ends the process', async () => {
    assert.deepEqual(await linesOfProcessEnding("throw new Error('boom');"), expected);
  });
});
