/**
 * The `latchkey` command run for real: `node bin/latchkey.js ...` as a child
 * process against a temporary --data-dir, checking stdout, stderr, the exit
 * code and what ends up in the database.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { hashCredential } from '../../src/core/secrets.js';
import { assertFails, jsonOf, latchkey } from '../support/cli.js';
import { dialects, postgresReachable, type TestDatabase } from '../support/databases.js';


const root = mkdtempSync(join(tmpdir(), 'latchkey-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
function freshDir(label: string): string {
  dirs += 1;
  const dir = join(root, `${label}-${dirs}`);
  mkdirSync(dir);
  return dir;
}

function sqliteFileOf(dir: string): string {
  return join(dir, 'latchkey.sqlite');
}

/** Runs a query on the CLI's SQLite file (opened read-only, closed again). */
function query<T>(dir: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(sqliteFileOf(dir), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** Every byte SQLite keeps for the database: the file and any -wal/-shm/-journal beside it. */
function databaseBytes(dir: string): Buffer {
  const files = readdirSync(dir).filter((name) => name.startsWith('latchkey.sqlite'));
  assert.ok(files.includes('latchkey.sqlite'), `no database in ${dir}: ${files.join(', ')}`);
  return Buffer.concat(files.map((name) => readFileSync(join(dir, name))));
}

const hasPostgres = await postgresReachable();
const CLIENT_ID = /^lkc_[A-Za-z0-9_-]+$/;
const CLIENT_SECRET = /^lk_cs_[A-Za-z0-9_-]{43}$/;

describe('latchkey CLI', { concurrency: true }, () => {
  describe('clients', { concurrency: false }, () => {
    const dir = freshDir('clients');
    const storeArgs = ['--data-dir', dir];
    let client: Record<string, unknown>;
    let clientId: string;
    let firstSecret: string;
    let publicId: string;
    let textId: string;

    test('clients create --json prints one object with the id, the secret and the registration', async () => {
      client = jsonOf(
        await latchkey([
          'clients', 'create', ...storeArgs,
          '--name', 'Partner App',
          '--redirect-uri', 'https://partner.example.com/callback',
          '--redirect-uri', 'http://127.0.0.1:8080/cb',
          '--scope', 'read write',
          '--access-token-ttl', '900',
          '--json',
        ]),
      );
      assert.match(client.client_id as string, CLIENT_ID);
      assert.match(client.client_secret as string, CLIENT_SECRET);
      assert.equal(client.name, 'Partner App');
      assert.deepEqual(client.redirect_uris, ['https://partner.example.com/callback', 'http://127.0.0.1:8080/cb']);
      assert.deepEqual(client.scopes, ['read', 'write']);
      assert.deepEqual(client.grant_types, ['authorization_code', 'refresh_token']);
      assert.equal(client.public, false);
      assert.equal(client.legacy, false);
      assert.equal(client.access_token_ttl, 900);
      assert.equal(client.refresh_token_ttl, null);
      clientId = client.client_id as string;
      firstSecret = client.client_secret as string;
    });

    test('the secret is stored only as its hash, nowhere in the database bytes', () => {
      const rows = query<{ secret_hash: string }>(dir, 'select secret_hash from client_secrets where client_id = ?', clientId);
      assert.equal(rows.length, 1);
      const stored = (rows[0] as { secret_hash: string }).secret_hash;
      assert.notEqual(stored, firstSecret);
      assert.ok(!stored.includes(firstSecret.slice('lk_cs_'.length)));
      assert.equal(stored, hashCredential(firstSecret));
      const bytes = databaseBytes(dir);
      assert.ok(bytes.includes(clientId), 'the client id should be in the database file (sanity check)');
      assert.ok(!bytes.includes(firstSecret), 'the plaintext secret is in the database file');
      assert.ok(!bytes.includes(firstSecret.slice('lk_cs_'.length)), 'the secret body is in the database file');
    });

    test('--public gives no secret and --legacy (with the operator override) marks the client legacy', async () => {
      const created = jsonOf(
        await latchkey(['clients', 'create', ...storeArgs, '--name', 'Mobile', '--redirect-uri', 'com.example.app:/oauth', '--public', '--legacy', '--allow-new-legacy', '--json']),
      );
      assert.match(created.client_id as string, CLIENT_ID);
      assert.equal(created.client_secret, null);
      assert.equal(created.public, true);
      assert.equal(created.legacy, true);
      publicId = created.client_id as string;
      assert.deepEqual(query(dir, 'select id from client_secrets where client_id = ?', publicId), []);
    });

    test('without --json, create prints the client id and the secret once, and show never prints it', async () => {
      const run = await latchkey(['clients', 'create', ...storeArgs, '--name', 'Text App', '--redirect-uri', 'https://text.example.com/cb']);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, '');
      assert.ok(!run.stdout.trimStart().startsWith('{'), 'text output should not be JSON');
      const id = /^client_id\s+(lkc_\S+)$/m.exec(run.stdout)?.[1];
      const secret = /^client_secret\s+(lk_cs_\S+)$/m.exec(run.stdout)?.[1];
      assert.ok(id, run.stdout);
      assert.ok(secret, run.stdout);
      assert.match(id, CLIENT_ID);
      assert.match(secret, CLIENT_SECRET);
      assert.equal(run.stdout.split(secret).length, 2, 'the secret should be printed exactly once');
      assert.match(run.stdout, /shown only now/);
      textId = id;

      const shown = await latchkey(['clients', 'show', textId, ...storeArgs]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, new RegExp(`^client_id\\s+${textId}$`, 'm'));
      assert.match(shown.stdout, /^name\s+Text App$/m);
      assert.ok(!shown.stdout.includes('lk_cs_'), 'show printed a secret');
    });

    test('clients list --json lists every client', async () => {
      const listed = jsonOf(await latchkey(['clients', 'list', ...storeArgs, '--json']));
      const all = listed.clients as Array<Record<string, unknown>>;
      assert.deepEqual(all.map((entry) => entry.client_id).sort(), [clientId, publicId, textId].sort());
      const mine = all.find((entry) => entry.client_id === clientId);
      assert.equal(mine?.name, 'Partner App');
      assert.ok(all.every((entry) => !('client_secret' in entry)), 'list must not show secrets');
    });

    test('clients show --json returns the registration without a secret', async () => {
      const shown = jsonOf(await latchkey(['clients', 'show', clientId, ...storeArgs, '--json']));
      const { client_secret: _secret, ...registration } = client;
      assert.deepEqual(shown, registration);
      assert.ok(!('client_secret' in shown));
    });

    test('clients update changes the name, replaces redirect URIs and scopes, and sets and clears legacy', async () => {
      const updated = jsonOf(
        await latchkey([
          'clients', 'update', clientId, ...storeArgs,
          '--name', 'Renamed App',
          '--redirect-uri', 'https://new.example.com/cb',
          '--scope', 'profile',
          '--legacy',
          '--allow-new-legacy',
          '--json',
        ]),
      );
      assert.equal(updated.client_id, clientId);
      assert.equal(updated.name, 'Renamed App');
      assert.deepEqual(updated.redirect_uris, ['https://new.example.com/cb']);
      assert.deepEqual(updated.scopes, ['profile']);
      assert.equal(updated.legacy, true);
      assert.equal(updated.access_token_ttl, 900, 'options not given stay as they were');

      const cleared = jsonOf(await latchkey(['clients', 'update', clientId, ...storeArgs, '--no-legacy', '--json']));
      assert.equal(cleared.legacy, false);
      assert.equal(cleared.name, 'Renamed App');
      assert.deepEqual(cleared.redirect_uris, ['https://new.example.com/cb']);
      assert.deepEqual(cleared.scopes, ['profile']);
      const [row] = query<{ name: string; is_legacy: number }>(dir, 'select name, is_legacy from clients where id = ?', clientId);
      assert.deepEqual({ ...row }, { name: 'Renamed App', is_legacy: 0 });
    });

    test('clients rotate-secret --json returns a new secret and keeps the old one for the overlap', async () => {
      const rotated = jsonOf(await latchkey(['clients', 'rotate-secret', clientId, ...storeArgs, '--json']));
      assert.equal(rotated.client_id, clientId);
      const secret = rotated.client_secret as string;
      assert.match(secret, CLIENT_SECRET);
      assert.notEqual(secret, firstSecret);
      const until = Date.parse(rotated.previous_secret_expires_at as string);
      assert.ok(Math.abs(until - (Date.now() + 86_400_000)) < 120_000, `previous secret expires at ${rotated.previous_secret_expires_at}`);

      const rows = query<{ secret_hash: string; expires_at: number | null }>(
        dir,
        'select secret_hash, expires_at from client_secrets where client_id = ? order by created_at, expires_at desc',
        clientId,
      );
      const byHash = new Map(rows.map((row) => [row.secret_hash, row.expires_at]));
      assert.equal(rows.length, 2);
      assert.equal(byHash.get(hashCredential(secret)), null, 'the new secret does not expire');
      assert.equal(typeof byHash.get(hashCredential(firstSecret)), 'number', 'the old secret expires');
      assert.ok(!databaseBytes(dir).includes(secret), 'the new plaintext secret is in the database file');
    });

    test('clients delete --json removes the client; show then exits 1 with one line', async () => {
      const deleted = jsonOf(await latchkey(['clients', 'delete', clientId, ...storeArgs, '--json']));
      assert.deepEqual(deleted, { client_id: clientId, deleted: true, revoked: { connections: 0 } });
      assertFails(await latchkey(['clients', 'show', clientId, ...storeArgs]), 1, new RegExp(`^latchkey: no client ${clientId}$`));
      assert.deepEqual(query(dir, 'select id from client_secrets where client_id = ?', clientId), []);
    });
  });

  describe('users', { concurrency: false }, () => {
    const dir = freshDir('users');
    const storeArgs = ['--data-dir', dir];
    const password = 'correct horse battery staple';

    test('users create --json creates an admin with two accounts of the given kinds', async () => {
      const created = jsonOf(
        await latchkey([
          'users', 'create', ...storeArgs,
          '--email', 'Ada@Example.com',
          '--password', password,
          '--first-name', 'Ada',
          '--last-name', 'Lovelace',
          '--account', 'Acme:company',
          '--account', 'Bob:advisor',
          '--admin',
          '--json',
        ]),
      );
      assert.match(created.user_id as string, /^usr_/);
      assert.equal(created.email, 'ada@example.com');
      assert.equal(created.admin, true);
      const accounts = created.accounts as Array<Record<string, unknown>>;
      assert.deepEqual(
        accounts.map(({ name, kind }) => ({ name, kind })),
        [
          { name: 'Acme', kind: 'company' },
          { name: 'Bob', kind: 'advisor' },
        ],
      );
      assert.ok(accounts.every((account) => /^acc_/.test(account.id as string)));

      const [user] = query<{ password_hash: string; is_admin: number; first_name: string }>(
        dir,
        'select password_hash, is_admin, first_name from users where id = ?',
        created.user_id,
      );
      assert.equal(user?.is_admin, 1);
      assert.equal(user?.first_name, 'Ada');
      assert.match(user?.password_hash ?? '', /^\$argon2id\$/);
      assert.ok(!databaseBytes(dir).includes(password), 'the plaintext password is in the database file');
      const memberships = query(dir, 'select account_id from memberships where user_id = ?', created.user_id);
      assert.equal(memberships.length, 2);
    });

    test('a second user with the same email (any case) exits 2 with one line', async () => {
      assertFails(
        await latchkey(['users', 'create', ...storeArgs, '--email', 'ada@example.COM', '--password', password, '--json']),
        2,
        /^latchkey: a user with email ada@example\.com already exists$/,
      );
      assert.equal(query(dir, 'select id from users').length, 1);
    });

    test('a weak password exits 2 with one line', async () => {
      assertFails(
        await latchkey(['users', 'create', ...storeArgs, '--email', 'weak@example.com', '--password', 'short1', '--json']),
        2,
        /^latchkey: password: .*10 characters/,
      );
    });

    test('an invalid account kind exits 2 with one line', async () => {
      assertFails(
        await latchkey(['users', 'create', ...storeArgs, '--email', 'kind@example.com', '--password', password, '--account', 'Acme:Big Corp!', '--json']),
        2,
        /^latchkey: account kind "big corp!" must be/,
      );
      assert.equal(query(dir, 'select id from users').length, 1);
    });
  });

  describe('bad arguments exit 2 with one line on stderr', { concurrency: true }, () => {
    const create = (dir: string, ...args: string[]) => ['clients', 'create', '--data-dir', dir, ...args];
    const cases: Array<{ name: string; args: (dir: string) => string[]; env?: Record<string, string>; message: RegExp; noClient?: boolean }> = [
      {
        name: 'an unknown option',
        args: (dir) => create(dir, '--name', 'A', '--redirect-uri', 'https://a.example.com/cb', '--bogus'),
        message: /unknown option '--bogus'/,
      },
      { name: 'a missing --name', args: (dir) => create(dir, '--redirect-uri', 'https://a.example.com/cb'), message: /required option '--name/ },
      { name: 'a missing --redirect-uri', args: (dir) => create(dir, '--name', 'A'), message: /required option '--redirect-uri/ },
      {
        name: 'a javascript: redirect URI',
        args: (dir) => create(dir, '--name', 'A', '--redirect-uri', 'javascript:alert(1)'),
        message: /^latchkey: redirect URI javascript:alert\(1\): .*javascript/,
        noClient: true,
      },
      {
        name: 'a plain-http redirect URI that is not loopback',
        args: (dir) => create(dir, '--name', 'A', '--redirect-uri', 'http://example.com/cb'),
        message: /^latchkey: redirect URI http:\/\/example\.com\/cb: .*loopback/,
        noClient: true,
      },
      {
        name: 'a redirect URI with a fragment',
        args: (dir) => create(dir, '--name', 'A', '--redirect-uri', 'https://a.example.com/cb#frag'),
        message: /^latchkey: redirect URI https:\/\/a\.example\.com\/cb#frag: .*fragment/,
        noClient: true,
      },
      { name: 'an unknown command', args: () => ['frobnicate'], message: /unknown command 'frobnicate'/ },
      {
        name: 'clients update with nothing to change',
        args: (dir) => ['clients', 'update', 'lkc_whatever', '--data-dir', dir],
        message: /^latchkey: nothing to change/,
      },
      {
        name: 'a non-numeric --access-token-ttl',
        args: (dir) => create(dir, '--name', 'A', '--redirect-uri', 'https://a.example.com/cb', '--access-token-ttl', 'abc'),
        message: /--access-token-ttl.*'abc' is invalid/,
      },
      {
        name: 'an invalid PORT for serve',
        args: (dir) => ['serve', '--data-dir', dir],
        env: { PORT: 'abc' },
        message: /^latchkey: invalid setting port\b/,
      },
    ];
    for (const entry of cases) {
      test(entry.name, async () => {
        const dir = freshDir('bad');
        assertFails(await latchkey(entry.args(dir), entry.env), 2, entry.message);
        if (entry.noClient) assert.deepEqual(query(dir, 'select id from clients'), []);
      });
    }
  });

  describe('migrate', { concurrency: false }, () => {
    const dir = freshDir('migrate');
    const tablesOf = () =>
      existsSync(sqliteFileOf(dir)) ? query<{ name: string }>(dir, "select name from sqlite_master where type = 'table'").map((row) => row.name) : [];
    let pending: string[];

    test('--dry-run --json lists the pending migrations, starting with 0001_initial, and applies none', async () => {
      const result = jsonOf(await latchkey(['migrate', '--data-dir', dir, '--dry-run', '--json']));
      assert.deepEqual(Object.keys(result).sort(), ['applied', 'pending']);
      pending = result.pending as string[];
      assert.equal(pending[0], '0001_initial');
      assert.deepEqual([...pending].sort(), pending, 'migrations run in name order');
      assert.deepEqual(result.applied, []);
      const tables = tablesOf();
      assert.ok(!tables.includes('clients'), `the dry run created tables: ${tables.join(', ')}`);
    });

    test('--json applies them, and a second run says the database is up to date', async () => {
      const result = jsonOf(await latchkey(['migrate', '--data-dir', dir, '--json']));
      assert.deepEqual(result, { pending, applied: pending });
      const tables = tablesOf();
      for (const table of ['users', 'clients', 'client_secrets']) assert.ok(tables.includes(table), `no ${table} table`);
      assert.deepEqual(
        query<{ name: string }>(dir, 'select name from kysely_migration order by name').map((row) => row.name),
        pending,
      );

      const again = await latchkey(['migrate', '--data-dir', dir]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout, 'The database is up to date.\n');
    });
  });

  describe('with PostgreSQL (DATABASE_URL)', { concurrency: false, skip: hasPostgres ? false : 'PostgreSQL not reachable; skipped outside CI' }, () => {
    let database: TestDatabase;
    const dir = freshDir('postgres');

    before(async () => {
      const postgres = (await dialects()).find((dialect) => dialect.name === 'postgres');
      assert.ok(postgres);
      database = await postgres.create();
    });
    after(async () => {
      await database?.drop();
    });

    test('clients create and clients list use the database in DATABASE_URL', async () => {
      const env = { DATABASE_URL: database.databaseUrl as string };
      const created = jsonOf(
        await latchkey(['clients', 'create', '--data-dir', dir, '--name', 'PG App', '--redirect-uri', 'https://pg.example.com/cb', '--json'], env),
      );
      assert.match(created.client_id as string, CLIENT_ID);
      assert.match(created.client_secret as string, CLIENT_SECRET);

      const listed = jsonOf(await latchkey(['clients', 'list', '--data-dir', dir, '--json'], env));
      assert.deepEqual(
        (listed.clients as Array<Record<string, unknown>>).map((entry) => [entry.client_id, entry.name]),
        [[created.client_id, 'PG App']],
      );
      assert.ok(!existsSync(sqliteFileOf(dir)), 'a SQLite file was created although DATABASE_URL is set');

      const direct = new pg.Client({ connectionString: database.databaseUrl });
      await direct.connect();
      try {
        const { rows } = await direct.query('select name from clients where id = $1', [created.client_id]);
        assert.deepEqual(rows, [{ name: 'PG App' }]);
      } finally {
        await direct.end();
      }
    });
  });
});
