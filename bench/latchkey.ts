/**
 * Latchkey as a benchmark target: a real `latchkey serve` process on a fresh
 * SQLite file or PostgreSQL database, with the credentials each scenario needs
 * minted straight into that database between rounds (single-use codes and
 * refresh tokens, one grant each, as partners' customers would hold them).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import pg from 'pg';
import { s256 } from '../src/core/pkce.js';
import { hashCredential, newCredential } from '../src/core/secrets.js';
import { hashPassword } from '../src/core/passwords.js';
import { type ClientRegistration, registerClient } from '../src/services/clients.js';
import { registerUser } from '../src/services/users.js';
import type { Database } from '../src/store/kysely/schema.js';
import type { KyselyStore } from '../src/store/kysely/store.js';
import { migrateToLatest, openStore } from '../src/store/open.js';
import { type BenchServer, freePort, nodeCommand, type RequestTemplate, ServerExited, waitForHttp } from './common.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIRECT_URI = 'https://partner.example/callback';
const SCOPE = 'read';
/** One verifier for every minted code: what is measured is the server's check, not the client's randomness. */
const VERIFIER = 'bench-verifier-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFG';
const PASSWORD = 'correct-horse-battery-staple-42';
const BATCH = 500;
const COLLECT_ON_SIGNAL = fileURLToPath(new URL('./servers/collect-on-signal.cjs', import.meta.url));
let built = false;

/**
 * Compiles the server as production runs it (`npm run build`, then `node dist/main.js`),
 * once per run: `bin/latchkey.js` runs the source through tsx, whose output differs
 * (measured: its function-naming helper alone took 2% of a bearer check).
 */
function buildOnce(): void {
  if (built) return;
  // The project's own build script, so the benchmark compiles exactly what production deploys.
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  built = true;
}

/** Filler connections belong to this many users (and to one client per this many connections). */
const FILL_USERS = 10_000;
/** Refresh chains minted for refresh_chain: more than the load generator's connections. */
const CHAINS = 200;

export type Dialect = 'sqlite' | 'postgres';

interface Registered {
  id: string;
  secret: string;
}

function basic(client: Registered): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;
}

const FORM = 'application/x-www-form-urlencoded';

async function insertBatches<T>(rows: T[], insert: (batch: T[]) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < rows.length; start += BATCH) await insert(rows.slice(start, start + BATCH));
}

export class LatchkeyTarget implements BenchServer {
  readonly name: string;
  private store!: KyselyStore;
  private databaseUrl: string | undefined;
  private dataDir: string | undefined;
  private databaseName: string | undefined;
  private userId!: string;
  private accountId!: string;
  private opaque!: Registered;
  private jwt!: Registered;
  private resourceServer!: Registered;
  private stopServer: (() => Promise<void>) | undefined;
  /** Where collect-on-signal.cjs writes its report. */
  private memoryReport: string | undefined;
  pid: number | undefined;
  url = '';

  constructor(
    readonly dialect: Dialect,
    private readonly options: {
      cpu: string | undefined;
      /** Where the ports to start on come from (default: freePort, the kernel's). */
      ports?: () => Promise<number>;
      env?: Record<string, string>;
      profileDir?: string | undefined;
      /** A command the server runs under (valgrind, for bench/instructions.ts). */
      launcher?: readonly string[];
      /** Preload servers/collect-on-signal.cjs, for `memoryAfterCollection()`. */
      collectOnSignal?: boolean;
    },
  ) {
    this.name = `latchkey-${dialect}`;
  }

  private get db(): Kysely<Database> {
    return this.store.db as Kysely<Database>;
  }

  /** Creates and migrates the database and registers the clients, a user and an account. */
  async setup(): Promise<void> {
    if (this.dialect === 'postgres') {
      this.databaseName = `latchkey_bench_${randomBytes(5).toString('hex')}`;
      const admin = new pg.Client({ connectionString: ADMIN_URL });
      await admin.connect();
      await admin.query(`create database ${this.databaseName}`);
      await admin.end();
      const url = new URL(ADMIN_URL);
      url.pathname = `/${this.databaseName}`;
      this.databaseUrl = url.toString();
    } else {
      this.dataDir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
    }
    this.store = openStore({ databaseUrl: this.databaseUrl, dataDir: this.dataDir });
    await migrateToLatest(this.store);
    const now = Date.now();
    await this.store.upsertScope({ name: SCOPE, description: 'Read the connected account', isDefault: true });
    const { user, accounts } = await registerUser(
      this.store,
      { email: 'bench@partner.example', password: PASSWORD, firstName: 'Bench', lastName: 'User', accounts: [{ name: 'Bench Co', kind: 'company' }] },
      now,
    );
    this.userId = user.id;
    this.accountId = (accounts[0] as { id: string }).id;
    const register = async (name: string, extra: Omit<ClientRegistration, 'name'>): Promise<Registered> => {
      const { client, secret } = await registerClient(this.store, { ...extra, name }, now);
      return { id: client.id, secret: secret as string };
    };
    const grantTypes = ['authorization_code', 'refresh_token', 'client_credentials'];
    this.opaque = await register('Bench partner', { redirectUris: [REDIRECT_URI], scopes: [SCOPE], grantTypes, accessTokenFormat: 'opaque' });
    this.jwt = await register('Bench partner (JWT)', { redirectUris: [REDIRECT_URI], scopes: [SCOPE], grantTypes, accessTokenFormat: 'jwt' });
    this.resourceServer = await register('Bench API', { isResourceServer: true });
  }

  /**
   * Starts the server on a free port. The port is asked of the kernel just
   * before the server binds it, but any outgoing connection on the machine
   * may take it in between (the kernel hands the same range out as local
   * ports): a server that exits before it answers is started again on
   * another port, at most three times.
   */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.startOnce(await (this.options.ports ?? freePort)());
        return;
      } catch (error) {
        if (!(error instanceof ServerExited) || attempt === 3) throw error;
      }
    }
  }

  private async startOnce(port: number): Promise<void> {
    // --cpu-prof: a V8 profile written when the server exits (SIGTERM), for `npm run bench -- --profile DIR`.
    const profile = this.options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${this.options.profileDir}`] : [];
    const collector = this.options.collectOnSignal ? ['--expose-gc', '--require', COLLECT_ON_SIGNAL] : [];
    buildOnce();
    const args = [...profile, ...collector, 'dist/main.js', 'serve', '--port', String(port), '--host', '127.0.0.1'];
    if (this.databaseUrl) args.push('--database-url', this.databaseUrl);
    else args.push('--data-dir', this.dataDir as string);
    // The flags above choose the database; none from the environment may override them.
    const env: Record<string, string | undefined> = { ...process.env, ...this.options.env };
    for (const name of ['DATABASE_URL', 'LATCHKEY_DATABASE_URL', 'LATCHKEY_DATA_DIR', 'PORT', 'LATCHKEY_PORT']) delete env[name];
    if (this.options.collectOnSignal) {
      this.memoryReport ??= join(mkdtempSync(join(tmpdir(), 'latchkey-bench-memory-')), 'usage.json');
      env.LATCHKEY_BENCH_MEMORY_REPORT = this.memoryReport;
    }
    // BENCH_SERVER_LOG=FILE keeps the server's log lines (appended; each round's refusals say why there).
    const log = process.env.BENCH_SERVER_LOG ? openSync(process.env.BENCH_SERVER_LOG, 'a') : 'ignore';
    const child = spawn(...nodeCommand(this.options.cpu, args, this.options.launcher), { stdio: ['ignore', log, 'inherit'], env });
    if (typeof log === 'number') closeSync(log);
    this.pid = child.pid;
    this.url = `http://127.0.0.1:${port}`;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.stopServer = async () => {
      child.kill('SIGTERM');
      await exited;
    };
    // Under a launcher (valgrind) the server starts some fifty times slower.
    await waitForHttp(`${this.url}/readyz`, exited, this.options.launcher ? 600_000 : undefined);
  }

  /** Grants on the bench user's account, one per credential; returns their ids. */
  private async mintGrants(count: number, clientId: string, now: number): Promise<string[]> {
    const ids = Array.from({ length: count }, () => `gr_bench_${randomBytes(12).toString('base64url')}`);
    await insertBatches(ids, (batch) =>
      this.db
        .insertInto('grants')
        .values(
          batch.map((id) => ({
            id,
            client_id: clientId,
            user_id: this.userId,
            account_id: this.accountId,
            scopes: SCOPE,
            partner_id: null,
            created_at: now,
            updated_at: now,
            last_used_at: null,
            revoked_at: null,
            revoked_reason: null,
            confirmed_at: null,
          })),
        )
        .execute(),
    );
    return ids;
  }

  /** Unused authorization codes with a PKCE S256 challenge, as the authorize endpoint would leave them. */
  async mintCodes(count: number, client: Registered = this.opaque): Promise<string[]> {
    const now = Date.now();
    const grants = await this.mintGrants(count, client.id, now);
    const codes = grants.map(() => newCredential('code'));
    const challenge = s256(VERIFIER);
    await insertBatches(
      codes.map((code, index) => ({ code, grantId: grants[index] as string })),
      (batch) =>
        this.db
          .insertInto('authorization_codes')
          .values(
            batch.map(({ code, grantId }) => ({
              code_hash: hashCredential(code),
              grant_id: grantId,
              client_id: client.id,
              redirect_uri: REDIRECT_URI,
              scopes: SCOPE,
              code_challenge: challenge,
              code_challenge_method: 'S256',
              channel: 'default',
              created_at: now,
              // Longer than the default 60 s, so that a round's last codes are still valid when sent.
              expires_at: now + 600_000,
              consumed_at: null,
            })),
          )
          .execute(),
    );
    return codes;
  }

  /** Live refresh tokens, one per grant. */
  async mintRefreshTokens(count: number): Promise<string[]> {
    const now = Date.now();
    const grants = await this.mintGrants(count, this.opaque.id, now);
    const tokens = grants.map(() => newCredential('refreshToken'));
    await insertBatches(
      tokens.map((token, index) => ({ token, grantId: grants[index] as string })),
      (batch) =>
        this.db
          .insertInto('refresh_tokens')
          .values(
            batch.map(({ token, grantId }) => ({
              token_hash: hashCredential(token),
              grant_id: grantId,
              client_id: this.opaque.id,
              scopes: SCOPE,
              created_at: now,
              expires_at: now + 30 * 86_400_000,
              rotated_at: null,
              revoked_at: null,
            })),
          )
          .execute(),
    );
    return tokens;
  }

  /** Access tokens issued by the running server itself (so a JWT carries its issuer and key). */
  private async accessTokens(count: number, client: Registered): Promise<string[]> {
    const codes = await this.mintCodes(count, client);
    const tokens: string[] = [];
    for (const code of codes) {
      const response = await fetch(`${this.url}/oauth/token`, {
        method: 'POST',
        headers: { authorization: basic(client), 'content-type': FORM },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
      });
      if (response.status !== 200) throw new Error(`minting an access token failed: ${response.status} ${await response.text()}`);
      tokens.push(((await response.json()) as { access_token: string }).access_token);
    }
    return tokens;
  }

  /** Sign-in pages opened by distinct users (each with its session and CSRF token), for the argon2 row. */
  private async signInForms(count: number): Promise<Array<Record<string, string>>> {
    const now = Date.now();
    const passwordHash = await hashPassword(PASSWORD);
    const emails = Array.from({ length: count }, () => `signin-${randomBytes(8).toString('hex')}@partner.example`);
    await insertBatches(emails, (batch) =>
      this.db
        .insertInto('users')
        .values(
          batch.map((email) => ({
            id: `usr_bench_${randomBytes(12).toString('base64url')}`,
            email,
            password_hash: passwordHash,
            first_name: 'Bench',
            last_name: 'User',
            is_admin: 0,
            locked_at: null,
            created_at: now,
            updated_at: now,
          })),
        )
        .execute(),
    );
    const forms: Array<Record<string, string>> = [];
    for (const email of emails) {
      const page = await fetch(`${this.url}/login`);
      const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0] as string;
      const csrf = /name="csrf_token" value="([^"]+)"/.exec(await page.text())?.[1];
      if (!cookie || !csrf) throw new Error('the sign-in page gave no session or CSRF token');
      forms.push({ cookie, body: new URLSearchParams({ csrf_token: csrf, email, password: PASSWORD }).toString() });
    }
    return forms;
  }

  async prepare(scenario: string, count: number): Promise<RequestTemplate | undefined> {
    const tokenRequest = (client: Registered, body: string, values: RequestTemplate['values'], singleUse: boolean): RequestTemplate => ({
      method: 'POST',
      path: '/oauth/token',
      headers: { authorization: basic(client), 'content-type': FORM },
      body,
      values,
      singleUse,
    });
    switch (scenario) {
      case 'client_credentials':
        return tokenRequest(this.opaque, `grant_type=client_credentials&scope=${SCOPE}`, [], false);
      case 'refresh':
        return tokenRequest(this.opaque, 'grant_type=refresh_token&refresh_token={{value}}', await this.mintRefreshTokens(count), true);
      case 'refresh_chain':
        // Clients rotating their own tokens: a few chains serve the whole run, so the grants
        // in the database stay the ones the run was set up with (the growth-with-data section).
        return {
          ...tokenRequest(this.opaque, 'grant_type=refresh_token&refresh_token={{value}}', await this.mintRefreshTokens(CHAINS), true),
          chain: 'refresh_token',
        };
      case 'code':
        return tokenRequest(
          this.opaque,
          `grant_type=authorization_code&code={{value}}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&code_verifier=${VERIFIER}`,
          await this.mintCodes(count),
          true,
        );
      case 'bearer_opaque':
      case 'bearer_jwt': {
        const client = scenario === 'bearer_jwt' ? this.jwt : this.opaque;
        const values = await this.accessTokens(100, client);
        return { method: 'GET', path: '/api/me', headers: { authorization: 'Bearer {{value}}' }, body: null, values, singleUse: false };
      }
      case 'introspection':
        return {
          method: 'POST',
          path: '/oauth/introspect',
          headers: { authorization: basic(this.resourceServer), 'content-type': FORM },
          body: 'token={{value}}',
          values: await this.accessTokens(100, this.opaque),
          singleUse: false,
        };
      case 'signin':
        return {
          method: 'POST',
          path: '/login',
          headers: { cookie: '{{cookie}}', 'content-type': FORM },
          body: '{{body}}',
          values: await this.signInForms(count),
          singleUse: true,
          expectStatus: 303,
        };
      default:
        return undefined;
    }
  }

  /**
   * Adds `count` live connections that belong to other users (10,000 of them)
   * and clients, each with a live access and refresh token, in one statement
   * per table: the data a platform with that many connected customers holds.
   * The fill is then checkpointed (on PostgreSQL also vacuumed and analyzed),
   * as a running database's checkpoints (and autovacuum) would have left it:
   * otherwise the rounds measure the bulk load's aftermath, not the size: the
   * kernel writing back the fill's gigabyte while the rounds' commits wait for
   * their syncs, and on PostgreSQL the first read of each new page setting its
   * hint bits and writing it again.
   */
  async fill(count: number): Promise<void> {
    const now = Date.now();
    const users = FILL_USERS;
    const postgres = this.dialect === 'postgres';
    const hash = postgres ? sql`md5(random()::text) || md5(random()::text)` : sql`hex(randomblob(32))`;
    const series = (first: number, end: number) =>
      postgres
        ? sql`select i from generate_series(${sql.lit(first)}, ${sql.lit(end - 1)}) as seq(i)`
        : sql`select i from (with recursive seq(i) as (select ${sql.lit(first)} union all select i + 1 from seq where i < ${sql.lit(end - 1)}) select i from seq)`;
    const text = (expression: RawBuilder<unknown>) => (postgres ? sql`(${expression})::text` : sql`(${expression})`);
    const i = text(sql`i`);
    const passwordHash = await hashPassword(PASSWORD);
    await sql`insert into users (id, email, password_hash, first_name, last_name, is_admin, locked_at, created_at, updated_at)
      select 'usr_fill_' || ${i}, 'fill-' || ${i} || '@example.com', ${passwordHash}, 'Fill', 'User', 0, null, ${now}, ${now}
      from (${series(0, users)}) s`.execute(this.db);
    await sql`insert into accounts (id, name, kind, partner_id, created_at)
      select 'acc_fill_' || ${i}, 'Fill account', 'company', null, ${now} from (${series(0, users)}) s`.execute(this.db);
    await sql`insert into memberships (user_id, account_id, role, created_at)
      select 'usr_fill_' || ${i}, 'acc_fill_' || ${i}, 'owner', ${now} from (${series(0, users)}) s`.execute(this.db);
    await sql`insert into clients (id, name, redirect_uris, scopes, grant_types, is_public, is_legacy, access_token_ttl, refresh_token_ttl, partner_id, created_at, updated_at)
      select 'cl_fill_' || ${i}, 'Fill partner', ${JSON.stringify([REDIRECT_URI])}, ${JSON.stringify([SCOPE])}, ${JSON.stringify(['authorization_code', 'refresh_token'])}, 0, 0, null, null, null, ${now}, ${now}
      from (${series(0, Math.ceil(count / users))}) s`.execute(this.db);
    const user = sql`'usr_fill_' || ${text(sql`i % ${sql.lit(users)}`)}`;
    const account = sql`'acc_fill_' || ${text(sql`i % ${sql.lit(users)}`)}`;
    const client = sql`'cl_fill_' || ${text(sql`i / ${sql.lit(users)}`)}`;
    const rows = series(0, count);
    await sql`insert into grants (id, client_id, user_id, account_id, scopes, partner_id, created_at, updated_at, last_used_at, revoked_at, revoked_reason, confirmed_at)
      select 'gr_fill_' || ${i}, ${client}, ${user}, ${account}, ${SCOPE}, null, ${now}, ${now}, null, null, null, null
      from (${rows}) s`.execute(this.db);
    await sql`insert into access_tokens (token_hash, grant_id, client_id, user_id, account_id, scopes, created_at, expires_at, revoked_at, signing_key_id)
      select ${hash}, 'gr_fill_' || ${i}, ${client}, ${user}, ${account}, ${SCOPE}, ${now}, ${now + 3_600_000}, null, null
      from (${rows}) s`.execute(this.db);
    await sql`insert into refresh_tokens (token_hash, grant_id, client_id, scopes, created_at, expires_at, rotated_at, revoked_at)
      select ${hash}, 'gr_fill_' || ${i}, ${client}, ${SCOPE}, ${now}, ${now + 30 * 86_400_000}, null, null
      from (${rows}) s`.execute(this.db);
    if (postgres) {
      await sql`vacuum (analyze)`.execute(this.db);
      await sql`checkpoint`.execute(this.db);
    } else {
      // Copies the WAL into the database file and syncs it (synchronous=NORMAL syncs at checkpoints).
      await sql`pragma wal_checkpoint(TRUNCATE)`.execute(this.db);
    }
  }

  /** Live grants in the database. */
  async countGrants(): Promise<number> {
    const row = await this.db.selectFrom('grants').select((eb) => eb.fn.countAll<number>().as('n')).where('revoked_at', 'is', null).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * The server's memory right after a full garbage collection, asked of the
   * preloaded collect-on-signal.cjs (the target must have `collectOnSignal`).
   */
  async memoryAfterCollection(): Promise<NodeJS.MemoryUsage> {
    const report = this.memoryReport;
    if (report === undefined || this.pid === undefined) throw new TypeError('memoryAfterCollection() needs a started target with collectOnSignal');
    rmSync(report, { force: true });
    process.kill(this.pid, 'SIGUSR2');
    for (let waited = 0; waited < 30_000; waited += 20) {
      if (existsSync(report)) return JSON.parse(readFileSync(report, 'utf8')) as NodeJS.MemoryUsage;
      await sleep(20);
    }
    throw new Error(`${this.name} wrote no memory report within 30 s`);
  }

  async stop(): Promise<void> {
    await this.stopServer?.();
    this.stopServer = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    await this.store.close();
    if (this.databaseName) {
      const admin = new pg.Client({ connectionString: ADMIN_URL });
      await admin.connect();
      await admin.query(`drop database if exists ${this.databaseName} with (force)`);
      await admin.end();
    }
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
    if (this.memoryReport) rmSync(join(this.memoryReport, '..'), { recursive: true, force: true });
  }
}

