/** The `latchkey` command: serve, migrate, clients, partners, users, keys; the operator's other commands are in src/cli/admin-commands.ts. */
import { Command, CommanderError, Option } from 'commander';
import { registerAdminCommands } from './cli/admin-commands.js';
import { cliActor, collect, positiveInt, print, splitScopes, type StoreFlags, storeOptions, UsageError, withStore } from './cli/common.js';
import type { Client, Partner } from './core/model.js';
import { presets } from './config/presets/index.js';
import { configurationDocs } from './config/docs.js';
import { ConfigError, configSchema, DEFAULT_CONFIG_FILE, ENV_VARS, loadConfig, maskedConfig, resolveConfig } from './config/schema.js';
import { firstRunBanner, startServer } from './server.js';
import {
  changeClient,
  type ClientRegistration,
  clientView,
  destroyClient,
  getClient,
  LEGACY_RULE,
  partnersOf,
  registerClient,
  rotateClientSecret,
  searchClients,
} from './services/clients.js';
import { NotFoundError, ValidationError } from './services/errors.js';
import { listKeys, rotateKeys } from './services/keys.js';
import { listPartners, registerPartner } from './services/partners.js';
import { parseAccountSpec, registerUser } from './services/users.js';
import { migrateToLatest, openStore, pendingMigrations } from './store/open.js';

function clientText(client: Client, partner: Partner | undefined): string {
  return [
    `client_id      ${client.id}`,
    `name           ${client.name}`,
    `redirect_uris  ${client.redirectUris.join(' ')}`,
    `scopes         ${client.scopes.join(' ') || '(none)'}`,
    `grant_types    ${client.grantTypes.join(' ')}`,
    `type           ${client.isPublic ? 'public' : 'confidential'}${client.isLegacy ? ', legacy' : ''}${client.isResourceServer ? ', resource server' : ''}`,
    `access_tokens  ${client.accessTokenFormat ?? 'server default'}`,
    `partner        ${partner ? `${partner.name} (${partner.partnerPortalId})` : '(none)'}`,
  ].join('\n');
}

/** A client with its partner, as --json prints it and as text. */
async function showClient(store: Parameters<typeof getClient>[0], client: Client, json: boolean | undefined, extra: Record<string, unknown> = {}, trailer = ''): Promise<void> {
  const partner = client.partnerId ? await store.findPartner(client.partnerId) : undefined;
  print(json, { ...clientView(client, partner), ...extra }, `${clientText(client, partner)}${trailer}`);
}

export function buildCli(): Command {
  const program = new Command('latchkey')
    .description('Latchkey, an OAuth 2.0 authorization server')
    .showSuggestionAfterError(false)
    .exitOverride();

  const serve = program.command('serve').description('serve the authorization server').option('--config <file>', `config file (default ./${DEFAULT_CONFIG_FILE} when present)`);
  // Every setting has a flag, generated from the schema: --data-dir for dataDir, and so on.
  for (const [key, field] of Object.entries(configSchema.shape)) {
    const variable = Object.entries(ENV_VARS).find(([name, setting]) => setting === key && name.startsWith('LATCHKEY_'))?.[0];
    serve.option(`--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)} <value>`, `${field.description ?? key}${variable ? ` (env ${variable})` : ''}`);
  }
  serve.action(async (flags: Record<string, string | undefined>) => {
    const { config: file, ...settings } = flags;
    const config = loadConfig(settings, process.env, { file });
    const server = await startServer(config);
    const { issuer } = server;
    if (server.firstRun) process.stdout.write(firstRunBanner(server.firstRun, issuer, presets[config.preset]?.authorizeEndpoints[0]?.path));
    process.stdout.write(`Latchkey (${config.preset} preset) listening on ${server.url}; issuer ${issuer}\n`);
    let signals = 0;
    const shutdown = (signal: string) => {
      signals += 1;
      if (signals > 1) process.exit(1);
      server.app.log.info({ signal, graceSeconds: config.shutdownGraceSeconds }, 'shutting down: draining in-flight requests');
      server.stop().then(
        ({ drained }) => {
          server.app.log.info({ drained }, 'stopped');
          process.exit(drained ? 0 : 1);
        },
        (error: unknown) => {
          server.app.log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  });

  const configCommand = program.command('config').description('the settings: validate them, print them, document them');
  configCommand
    .command('check')
    .description('validate the configuration (file, environment) and print the effective settings, secrets masked')
    .option('--config <file>', `config file (default ./${DEFAULT_CONFIG_FILE} when present)`)
    .option('--json', 'print one JSON object')
    .action((flags: { config?: string; json?: boolean }) => {
      const { config, file, origins } = resolveConfig({}, process.env, { file: flags.config });
      const masked = maskedConfig(config);
      const keys = Object.keys(configSchema.shape);
      const width = Math.max(...keys.map((key) => key.length));
      const show = (value: unknown) => (value === undefined ? '(unset)' : String(value));
      print(
        flags.json,
        { valid: true, file: file ?? null, config: masked, sources: origins },
        [`Configuration is valid${file ? ` (file ${file})` : ' (no config file)'}.`, ...keys.map((key) => `  ${key.padEnd(width)}  ${show(masked[key])}  [${origins[key] ?? 'default'}]`)].join('\n'),
      );
    });
  configCommand
    .command('docs')
    .description('print docs/configuration.md: every setting, generated from the schema')
    .action(() => {
      process.stdout.write(configurationDocs());
    });

  storeOptions(program.command('migrate').description('bring the database schema up to date'))
    .option('--dry-run', 'list the migrations that would run, and run none')
    .action(async (flags: StoreFlags & { dryRun?: boolean }) => {
      const config = loadConfig({ databaseUrl: flags.databaseUrl, dataDir: flags.dataDir }, process.env, { file: flags.config });
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
    .option('--legacy', 'a legacy client: direct login (the deprecated password grant); refused without --allow-new-legacy')
    .option('--allow-new-legacy', 'override the rule that new clients cannot be legacy (recorded in the audit log)')
    .option('--partner <partner_portal_id>', 'the partner behind the client')
    .option('--access-token-ttl <seconds>', 'access token lifetime for this client', positiveInt)
    .option('--refresh-token-ttl <seconds>', 'refresh token lifetime for this client', positiveInt)
    .addOption(new Option('--access-token-format <format>', 'opaque or JWT (RFC 9068) access tokens (default: the server setting)').choices(['opaque', 'jwt']))
    .option('--resource-server', 'a resource server: may introspect every access token (no grant type needed)')
    .action(async (flags: StoreFlags & { name: string; redirectUri?: string[]; scope?: string; grantType?: string[]; public?: boolean; legacy?: boolean; allowNewLegacy?: boolean; partner?: string; accessTokenTtl?: number; refreshTokenTtl?: number; accessTokenFormat?: 'opaque' | 'jwt'; resourceServer?: boolean }) => {
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
            partnerPortalId: flags.partner,
          },
          Date.now(),
          { by: cliActor(), allowNewLegacy: flags.allowNewLegacy },
        );
        await showClient(
          store,
          client,
          flags.json,
          { client_secret: secret ?? null },
          `\n${secret ? `client_secret  ${secret}\n\nThe secret is shown only now; store it safely.` : ''}`,
        );
      });
    });

  storeOptions(clients.command('list').description('list clients'))
    .option('--search <text>', 'only clients whose name contains it (or whose id it is)')
    .option('--partner <partner_portal_id>', 'only the clients of this partner')
    .action(async (flags: StoreFlags & { search?: string; partner?: string }) => {
      await withStore(flags, async (store) => {
        const all = flags.search || flags.partner ? (await searchClients(store, { q: flags.search, partner: flags.partner, limit: 500 })).clients : await store.listClients();
        const partners = await partnersOf(store, all);
        const partnerOf = (client: Client) => (client.partnerId ? partners.get(client.partnerId) : undefined);
        print(
          flags.json,
          { clients: all.map((client) => clientView(client, partnerOf(client))) },
          all.length === 0 ? 'No clients.' : all.map((client) => `${client.id}  ${client.name}`).join('\n'),
        );
      });
    });

  storeOptions(clients.command('show').argument('<client_id>').description('show one client')).action(async (clientId: string, flags: StoreFlags) => {
    await withStore(flags, async (store) => {
      await showClient(store, await getClient(store, clientId), flags.json);
    });
  });

  storeOptions(clients.command('update').argument('<client_id>').description('change a client'))
    .option('--name <name>', 'new name')
    .option('--redirect-uri <uri>', 'replace the redirect URIs (repeatable)', collect)
    .option('--scope <scopes>', 'replace the allowed scopes')
    .option('--grant-type <type>', 'replace the grant types (repeatable)', collect)
    .addOption(new Option('--legacy', 'mark as legacy'))
    .addOption(new Option('--no-legacy', 'clear the legacy flag'))
    .option('--allow-new-legacy', 'override the rule that a client cannot newly become legacy (recorded in the audit log)')
    .option('--partner <partner_portal_id>', 'link the client to this partner')
    .addOption(new Option('--no-partner', 'unlink the client from its partner'))
    .option('--access-token-ttl <seconds>', 'access token lifetime (0 for the server default)', positiveInt)
    .option('--refresh-token-ttl <seconds>', 'refresh token lifetime (0 for the server default)', positiveInt)
    .addOption(new Option('--access-token-format <format>', 'opaque, jwt, or default (the server setting)').choices(['opaque', 'jwt', 'default']))
    .addOption(new Option('--resource-server', 'may introspect every access token'))
    .addOption(new Option('--no-resource-server', 'may introspect only its own tokens'))
    .action(async (clientId: string, flags: StoreFlags & { name?: string; redirectUri?: string[]; scope?: string; grantType?: string[]; legacy?: boolean; allowNewLegacy?: boolean; partner?: string | false; accessTokenTtl?: number; refreshTokenTtl?: number; accessTokenFormat?: 'opaque' | 'jwt' | 'default'; resourceServer?: boolean }) => {
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
        partnerPortalId: flags.partner === false ? null : flags.partner,
      };
      if (Object.values(changes).every((value) => value === undefined)) throw new UsageError('nothing to change: give at least one option');
      await withStore(flags, async (store) => {
        const client = await changeClient(store, clientId, changes, Date.now(), { by: cliActor(), allowNewLegacy: flags.allowNewLegacy });
        await showClient(store, client, flags.json);
      });
    });

  storeOptions(clients.command('delete').argument('<client_id>').description('delete a client and every grant and token it holds')).action(
    async (clientId: string, flags: StoreFlags) => {
      await withStore(flags, async (store) => {
        const { revoked } = await destroyClient(store, clientId, Date.now(), { by: cliActor() });
        print(
          flags.json,
          { client_id: clientId, deleted: true, revoked: { connections: revoked.grants } },
          `Deleted ${clientId}: ${revoked.grants} connection(s) revoked, with every token issued on them.`,
        );
      });
    },
  );

  storeOptions(clients.command('rotate-secret').argument('<client_id>').description('issue a new secret; the old one keeps working for the overlap'))
    .option('--overlap <seconds>', 'how long the previous secret keeps working (default 86400)', positiveInt)
    .action(async (clientId: string, flags: StoreFlags & { overlap?: number }) => {
      await withStore(flags, async (store) => {
        const overlap = flags.overlap ?? loadConfig({}, process.env, { file: flags.config }).secretRotationOverlapSeconds;
        const secret = await rotateClientSecret(store, clientId, overlap, Date.now(), { by: cliActor() });
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
        const partner = await registerPartner(store, { name: flags.name, partnerPortalId: flags.partnerPortalId }, Date.now(), { by: cliActor() });
        print(flags.json, { partner_id: partner.id, name: partner.name, partner_portal_id: partner.partnerPortalId }, `partner_id         ${partner.id}\npartner_portal_id  ${partner.partnerPortalId}`);
      });
    });
  storeOptions(partners.command('list').description('list partners')).action(async (flags: StoreFlags) => {
    await withStore(flags, async (store) => {
      const all = await listPartners(store);
      print(
        flags.json,
        {
          partners: all.map((partner) => ({
            partner_id: partner.id,
            name: partner.name,
            partner_portal_id: partner.partnerPortalId,
            clients: partner.clients,
            accounts: partner.accounts,
            connections: partner.connections,
          })),
        },
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
  storeOptions(keys.command('rotate').description('sign with a new key from now on; the old one stays published until the tokens it signed expire'))
    .option('--drop-previous', 'a key may have leaked: delete the previous keys now and revoke every token they signed')
    .action(async (flags: StoreFlags & { dropPrevious?: boolean }) => {
      await withStore(flags, async (store) => {
        const rotated = await rotateKeys(store, Date.now(), { dropPrevious: flags.dropPrevious ?? false });
        const text = rotated.dropped.length
          ? `New signing key ${rotated.kid}. Deleted ${rotated.dropped.join(', ')} and revoked the ${rotated.revokedTokens} token(s) they signed; clients get new ones by refreshing.`
          : `New signing key ${rotated.kid}.${rotated.retired.length ? ` Retired (still published until their tokens expire): ${rotated.retired.join(', ')}.` : ''}${rotated.pruned.length ? ` Removed: ${rotated.pruned.join(', ')}.` : ''}`;
        print(
          flags.json,
          { kid: rotated.kid, retired: rotated.retired, pruned: rotated.pruned, dropped: rotated.dropped, revoked_tokens: rotated.revokedTokens },
          text,
        );
      });
    });

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
          { email: flags.email, password: flags.password, firstName: flags.firstName, lastName: flags.lastName, isAdmin: flags.admin ?? false, accounts, by: cliActor() },
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

  registerAdminCommands(program);
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
    let message = error instanceof Error ? error.message : String(error);
    if (error instanceof ValidationError && error.fields.legacy === LEGACY_RULE) message = `${message} (pass --allow-new-legacy to override)`;
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
