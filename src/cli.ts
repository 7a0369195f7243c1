/** The `latchkey` command: serve, migrate, clients, users. */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { issuerOf } from './app.js';
import type { Client } from './core/model.js';
import { presets } from './config/presets/index.js';
import { ConfigError, loadConfig } from './config/schema.js';
import { firstRunBanner, startServer } from './server.js';
import {
  changeClient,
  type ClientRegistration,
  destroyClient,
  getClient,
  registerClient,
  rotateClientSecret,
} from './services/clients.js';
import { NotFoundError, ValidationError } from './services/errors.js';
import { listKeys, rotateKeys } from './services/keys.js';
import { registerPartner } from './services/partners.js';
import { parseAccountSpec, registerUser } from './services/users.js';
import { migrateToLatest, openStore, pendingMigrations } from './store/open.js';
import type { KyselyStore } from './store/kysely/store.js';

/** Exit codes: 1 for a failed operation, 2 for bad arguments or input. */
class UsageError extends Error {}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError('must be a whole number');
  return parsed;
}

function splitScopes(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(/[\s,]+/).filter((scope) => scope !== '');
}

interface StoreFlags {
  databaseUrl?: string;
  dataDir?: string;
  json?: boolean;
}

/** Opens the configured store, up to date, for one command. */
async function withStore<T>(flags: StoreFlags, work: (store: KyselyStore) => Promise<T>): Promise<T> {
  const config = loadConfig({ databaseUrl: flags.databaseUrl, dataDir: flags.dataDir });
  const store = openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrateToLatest(store);
    return await work(store);
  } finally {
    await store.close();
  }
}

function describeClient(client: Client): Record<string, unknown> {
  return {
    client_id: client.id,
    name: client.name,
    redirect_uris: client.redirectUris,
    scopes: client.scopes,
    grant_types: client.grantTypes,
    public: client.isPublic,
    legacy: client.isLegacy,
    access_token_ttl: client.accessTokenTtlSeconds,
    refresh_token_ttl: client.refreshTokenTtlSeconds,
    access_token_format: client.accessTokenFormat ?? null,
    resource_server: client.isResourceServer ?? false,
    created_at: new Date(client.createdAt).toISOString(),
  };
}

function print(json: boolean | undefined, value: Record<string, unknown>, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

function clientText(client: Client): string {
  return [
    `client_id      ${client.id}`,
    `name           ${client.name}`,
    `redirect_uris  ${client.redirectUris.join(' ')}`,
    `scopes         ${client.scopes.join(' ') || '(none)'}`,
    `grant_types    ${client.grantTypes.join(' ')}`,
    `type           ${client.isPublic ? 'public' : 'confidential'}${client.isLegacy ? ', legacy' : ''}${client.isResourceServer ? ', resource server' : ''}`,
    `access_tokens  ${client.accessTokenFormat ?? 'server default'}`,
  ].join('\n');
}

function storeOptions(command: Command): Command {
  return command
    .option('--database-url <url>', 'PostgreSQL URL (env DATABASE_URL); SQLite under --data-dir otherwise')
    .option('--data-dir <dir>', 'where the SQLite database lives (env LATCHKEY_DATA_DIR)')
    .option('--json', 'print one JSON object');
}

export function buildCli(): Command {
  const program = new Command('latchkey')
    .description('Latchkey, an OAuth 2.0 authorization server')
    .showSuggestionAfterError(false)
    .exitOverride();

  program
    .command('serve')
    .description('serve the authorization server')
    .option('--port <port>', 'port (env PORT, default 3000)')
    .option('--host <host>', 'interface (env HOST, default 127.0.0.1)')
    .option('--preset <name>', 'API preset (env LATCHKEY_PRESET, default "default")')
    .option('--data-dir <dir>', 'SQLite data directory (env LATCHKEY_DATA_DIR, default ./data)')
    .option('--database-url <url>', 'PostgreSQL URL (env DATABASE_URL)')
    .option('--issuer <url>', 'public base URL (env LATCHKEY_ISSUER)')
    .action(async (flags: { port?: string; host?: string; preset?: string; dataDir?: string; databaseUrl?: string; issuer?: string }) => {
      const config = loadConfig(flags);
      const server = await startServer(config);
      const { issuer } = server;
      if (server.firstRun) process.stdout.write(firstRunBanner(server.firstRun, issuer, presets[config.preset]?.authorizeEndpoints[0]?.path));
      process.stdout.write(`Latchkey (${config.preset} preset) listening on ${server.url}; issuer ${issuer}\n`);
      let signals = 0;
      const shutdown = (signal: string) => {
        signals += 1;
        if (signals > 1) process.exit(1);
        server.app.log.info({ signal }, 'shutting down');
        server.stop().then(
          () => process.exit(0),
          (error: unknown) => {
            server.app.log.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
    });

  storeOptions(program.command('migrate').description('bring the database schema up to date'))
    .option('--dry-run', 'list the migrations that would run, and run none')
    .action(async (flags: StoreFlags & { dryRun?: boolean }) => {
      const config = loadConfig({ databaseUrl: flags.databaseUrl, dataDir: flags.dataDir });
      const store = openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
      try {
        const pending = await pendingMigrations(store);
        if (!flags.dryRun) await migrateToLatest(store);
        print(flags.json, { pending, applied: flags.dryRun ? [] : pending }, pending.length === 0 ? 'The database is up to date.' : `${flags.dryRun ? 'Would run' : 'Ran'}: ${pending.join(', ')}`);
      } finally {
        await store.close();
      }
    });

  const clients = program.command('clients').description('manage OAuth clients');

  storeOptions(clients.command('create').description('register a client; prints its id and secret (shown once)'))
    .requiredOption('--name <name>', 'the application name users see')
    .option('--redirect-uri <uri>', 'an allowed redirect URI (repeatable; required with the authorization_code grant)', collect)
    .option('--scope <scopes>', 'scopes the client may request, space-separated')
    .option('--grant-type <type>', 'an allowed grant type (repeatable; default authorization_code and refresh_token)', collect)
    .option('--public', 'a public client (no secret; PKCE required)')
    .option('--legacy', 'a legacy client (may keep using deprecated flows)')
    .option('--access-token-ttl <seconds>', 'access token lifetime for this client', positiveInt)
    .option('--refresh-token-ttl <seconds>', 'refresh token lifetime for this client', positiveInt)
    .addOption(new Option('--access-token-format <format>', 'opaque or JWT (RFC 9068) access tokens (default: the server setting)').choices(['opaque', 'jwt']))
    .option('--resource-server', 'a resource server: may introspect every access token (no grant type needed)')
    .action(async (flags: StoreFlags & { name: string; redirectUri?: string[]; scope?: string; grantType?: string[]; public?: boolean; legacy?: boolean; accessTokenTtl?: number; refreshTokenTtl?: number; accessTokenFormat?: 'opaque' | 'jwt'; resourceServer?: boolean }) => {
      const grantTypes = flags.grantType ?? (flags.resourceServer ? [] : ['authorization_code']);
      if (grantTypes.includes('authorization_code') && !flags.redirectUri?.length) {
        throw new UsageError("required option '--redirect-uri <uri>' not specified (the authorization_code grant needs one)");
      }
      await withStore(flags, async (store) => {
        const { client, secret } = await registerClient(
          store,
          {
            name: flags.name,
            redirectUris: flags.redirectUri,
            scopes: splitScopes(flags.scope),
            grantTypes: flags.grantType,
            isPublic: flags.public ?? false,
            isLegacy: flags.legacy ?? false,
            accessTokenTtlSeconds: flags.accessTokenTtl,
            refreshTokenTtlSeconds: flags.refreshTokenTtl,
            accessTokenFormat: flags.accessTokenFormat,
            isResourceServer: flags.resourceServer ?? false,
          },
          Date.now(),
        );
        print(
          flags.json,
          { ...describeClient(client), client_secret: secret ?? null },
          `${clientText(client)}\n${secret ? `client_secret  ${secret}\n\nThe secret is shown only now; store it safely.` : ''}`,
        );
      });
    });

  storeOptions(clients.command('list').description('list clients')).action(async (flags: StoreFlags) => {
    await withStore(flags, async (store) => {
      const all = await store.listClients();
      print(flags.json, { clients: all.map(describeClient) }, all.length === 0 ? 'No clients.' : all.map((client) => `${client.id}  ${client.name}`).join('\n'));
    });
  });

  storeOptions(clients.command('show').argument('<client_id>').description('show one client')).action(async (clientId: string, flags: StoreFlags) => {
    await withStore(flags, async (store) => {
      const client = await getClient(store, clientId);
      print(flags.json, describeClient(client), clientText(client));
    });
  });

  storeOptions(clients.command('update').argument('<client_id>').description('change a client'))
    .option('--name <name>', 'new name')
    .option('--redirect-uri <uri>', 'replace the redirect URIs (repeatable)', collect)
    .option('--scope <scopes>', 'replace the allowed scopes')
    .option('--grant-type <type>', 'replace the grant types (repeatable)', collect)
    .addOption(new Option('--legacy', 'mark as legacy'))
    .addOption(new Option('--no-legacy', 'clear the legacy flag'))
    .option('--access-token-ttl <seconds>', 'access token lifetime (0 for the server default)', positiveInt)
    .option('--refresh-token-ttl <seconds>', 'refresh token lifetime (0 for the server default)', positiveInt)
    .addOption(new Option('--access-token-format <format>', 'opaque, jwt, or default (the server setting)').choices(['opaque', 'jwt', 'default']))
    .addOption(new Option('--resource-server', 'may introspect every access token'))
    .addOption(new Option('--no-resource-server', 'may introspect only its own tokens'))
    .action(async (clientId: string, flags: StoreFlags & { name?: string; redirectUri?: string[]; scope?: string; grantType?: string[]; legacy?: boolean; accessTokenTtl?: number; refreshTokenTtl?: number; accessTokenFormat?: 'opaque' | 'jwt' | 'default'; resourceServer?: boolean }) => {
      const changes: Partial<ClientRegistration> = {
        name: flags.name,
        redirectUris: flags.redirectUri,
        scopes: splitScopes(flags.scope),
        grantTypes: flags.grantType,
        isLegacy: flags.legacy,
        accessTokenTtlSeconds: flags.accessTokenTtl === 0 ? null : flags.accessTokenTtl,
        refreshTokenTtlSeconds: flags.refreshTokenTtl === 0 ? null : flags.refreshTokenTtl,
        accessTokenFormat: flags.accessTokenFormat === 'default' ? null : flags.accessTokenFormat,
        isResourceServer: flags.resourceServer,
      };
      if (Object.values(changes).every((value) => value === undefined)) throw new UsageError('nothing to change: give at least one option');
      await withStore(flags, async (store) => {
        const client = await changeClient(store, clientId, changes, Date.now());
        print(flags.json, describeClient(client), clientText(client));
      });
    });

  storeOptions(clients.command('delete').argument('<client_id>').description('delete a client and every grant and token it holds')).action(
    async (clientId: string, flags: StoreFlags) => {
      await withStore(flags, async (store) => {
        await destroyClient(store, clientId, Date.now());
        print(flags.json, { client_id: clientId, deleted: true }, `Deleted ${clientId}.`);
      });
    },
  );

  storeOptions(clients.command('rotate-secret').argument('<client_id>').description('issue a new secret; the old one keeps working for the overlap'))
    .option('--overlap <seconds>', 'how long the previous secret keeps working (default 86400)', positiveInt)
    .action(async (clientId: string, flags: StoreFlags & { overlap?: number }) => {
      await withStore(flags, async (store) => {
        const overlap = flags.overlap ?? loadConfig({}).secretRotationOverlapSeconds;
        const secret = await rotateClientSecret(store, clientId, overlap, Date.now());
        const until = new Date(Date.now() + overlap * 1000).toISOString();
        print(
          flags.json,
          { client_id: clientId, client_secret: secret, previous_secret_expires_at: until },
          `client_secret  ${secret}\n\nThe previous secret keeps working until ${until}. The new one is shown only now.`,
        );
      });
    });

  const partners = program.command('partners').description('manage partners (credited with the accounts and connections their clients bring)');
  storeOptions(partners.command('create').description('register a partner'))
    .requiredOption('--name <name>', 'the partner company')
    .requiredOption('--partner-portal-id <id>', 'the identifier partners send (Go1: partner_portal_id)')
    .action(async (flags: StoreFlags & { name: string; partnerPortalId: string }) => {
      await withStore(flags, async (store) => {
        const partner = await registerPartner(store, { name: flags.name, partnerPortalId: flags.partnerPortalId }, Date.now());
        print(flags.json, { partner_id: partner.id, name: partner.name, partner_portal_id: partner.partnerPortalId }, `partner_id         ${partner.id}\npartner_portal_id  ${partner.partnerPortalId}`);
      });
    });
  storeOptions(partners.command('list').description('list partners')).action(async (flags: StoreFlags) => {
    await withStore(flags, async (store) => {
      const all = await store.listPartners();
      print(
        flags.json,
        { partners: all.map((partner) => ({ partner_id: partner.id, name: partner.name, partner_portal_id: partner.partnerPortalId })) },
        all.length === 0 ? 'No partners.' : all.map((partner) => `${partner.partnerPortalId}  ${partner.name}`).join('\n'),
      );
    });
  });

  const keys = program.command('keys').description('manage the keys that sign JWT access tokens (RFC 9068)');
  storeOptions(keys.command('list').description('list the signing keys (all of them are published at /oauth/jwks.json)')).action(async (flags: StoreFlags) => {
    await withStore(flags, async (store) => {
      const all = await listKeys(store);
      const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
      print(
        flags.json,
        { keys: all.map((key) => ({ kid: key.kid, alg: key.alg, status: key.status, created_at: iso(key.createdAt), retired_at: iso(key.retiredAt) })) },
        all.length === 0 ? 'No signing keys yet (one is created on first start).' : all.map((key) => `${key.kid}  ${key.alg}  ${key.status}  created ${iso(key.createdAt)}`).join('\n'),
      );
    });
  });
  storeOptions(keys.command('rotate').description('sign with a new key from now on; the old one stays published until the tokens it signed expire')).action(
    async (flags: StoreFlags) => {
      await withStore(flags, async (store) => {
        const rotated = await rotateKeys(store, Date.now());
        print(
          flags.json,
          { kid: rotated.kid, retired: rotated.retired, pruned: rotated.pruned },
          `New signing key ${rotated.kid}.${rotated.retired.length ? ` Retired (still published until their tokens expire): ${rotated.retired.join(', ')}.` : ''}${rotated.pruned.length ? ` Removed: ${rotated.pruned.join(', ')}.` : ''}`,
        );
      });
    },
  );

  const users = program.command('users').description('manage users');
  storeOptions(users.command('create').description('create a user and their accounts'))
    .requiredOption('--email <email>', 'sign-in email')
    .requiredOption('--password <password>', 'password (at least 10 characters)')
    .option('--first-name <name>', 'first name')
    .option('--last-name <name>', 'last name')
    .option('--account <NAME:KIND>', 'an account the user belongs to (repeatable), e.g. "Acme:company"', collect)
    .option('--admin', 'may use the admin console')
    .action(async (flags: StoreFlags & { email: string; password: string; firstName?: string; lastName?: string; account?: string[]; admin?: boolean }) => {
      const accounts = (flags.account ?? []).map(parseAccountSpec);
      await withStore(flags, async (store) => {
        const created = await registerUser(
          store,
          { email: flags.email, password: flags.password, firstName: flags.firstName, lastName: flags.lastName, isAdmin: flags.admin ?? false, accounts },
          Date.now(),
        );
        const accountList = created.accounts.map((account) => ({ id: account.id, name: account.name, kind: account.kind }));
        print(
          flags.json,
          { user_id: created.user.id, email: created.user.email, admin: created.user.isAdmin, accounts: accountList },
          `user_id  ${created.user.id}\nemail    ${created.user.email}\naccounts ${accountList.map((account) => `${account.name} (${account.kind})`).join(', ')}`,
        );
      });
    });

  return program;
}

/** Runs the CLI; resolves to the process exit code (the server keeps running for `serve`). */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildCli();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its one-line message; help and version exit 0.
      return error.exitCode === 0 ? 0 : 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError || error instanceof ValidationError || error instanceof ConfigError) {
      process.stderr.write(`latchkey: ${message}\n`);
      return 2;
    }
    if (error instanceof NotFoundError) {
      process.stderr.write(`latchkey: ${message}\n`);
      return 1;
    }
    process.stderr.write(`latchkey: ${message}\n`);
    return 1;
  }
}
