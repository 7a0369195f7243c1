/** Running the real `latchkey` command (node bin/latchkey.js) as a child process, as tests/cli/ does. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV_VARS } from '../../src/config/schema.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin', 'latchkey.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Settings the CLI reads from the environment: none may leak in from the shell running the tests. */
function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (Object.hasOwn(ENV_VARS, name) || name.startsWith('LATCHKEY_') || name === 'NODE_TEST_CONTEXT' || name === 'NODE_OPTIONS') delete env[name];
  }
  return { ...env, ...extra };
}

/** Each run costs about two CPU-seconds of module loading: no more at once than there are cores. */
const MAX_RUNNING = Math.max(2, availableParallelism());
let running = 0;
const waiting: Array<() => void> = [];

async function slot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_RUNNING) await new Promise<void>((resolve) => waiting.push(resolve));
  else running += 1;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  }
}

export function latchkey(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  return slot(
    () =>
      new Promise((resolve, reject) => {
        execFile(process.execPath, [BIN, ...args], { cwd: REPO, env: cliEnv(extraEnv), timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) => {
          if (error && typeof error.code !== 'number') {
            reject(new Error(`latchkey ${args.join(' ')} did not exit normally: ${error.message}\n${stderr}`));
            return;
          }
          resolve({ code: error ? (error.code as unknown as number) : 0, stdout, stderr });
        });
      }),
  );
}

/** The one JSON object a successful `--json` command prints. */
export function jsonOf(run: Run): Record<string, unknown> {
  assert.equal(run.code, 0, `exit ${run.code}; stderr: ${run.stderr}`);
  assert.equal(run.stderr, '');
  assert.ok(run.stdout.endsWith('\n'), `no trailing newline: ${JSON.stringify(run.stdout)}`);
  assert.equal(run.stdout.trimEnd().split('\n').length, 1, `more than one line: ${run.stdout}`);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

/** A failed command: the exit code, nothing on stdout, one line on stderr matching `message`. */
export function assertFails(run: Run, code: number, message: RegExp): void {
  assert.equal(run.code, code, `exit ${run.code}; stdout: ${run.stdout}; stderr: ${run.stderr}`);
  assert.equal(run.stdout, '');
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `stderr is not one line: ${run.stderr}`);
  assert.match(lines[0] as string, message);
}
