/**
 * The operator's commands beyond creating clients and users (src/cli.ts):
 * partners show/update/report, users list/show/lock/unlock, grants
 * show/revoke, scopes list/set/delete, tokens create/list/revoke (admin API
 * tokens), audit list, clients connections. The same services as the admin
 * console and API; each takes --json and is audited as "cli:<os user>".
 */
import { type Command, Option } from 'commander';
import { listAuditEvents } from '../services/audit.js';
import { adminTokenStatus, adminTokenView, createAdminToken, listAdminTokens, revokeAdminToken } from '../services/admin-tokens.js';
import { getClient } from '../services/clients.js';
import { connectionView, getConnection, revokeConnection } from '../services/grants.js';
import { changePartner, EXPORT_KINDS, getPartner, listPartners, partnerCsv, partnerReport } from '../services/partners.js';
import { deleteScope, listScopes, scopeView, setScope } from '../services/scopes.js';
import { lockUser, searchUsers, unlockUser, userDetail, userView } from '../services/users.js';
import type { GrantRecord } from '../store/admin.js';
import { cliActor, positiveInt, print, type StoreFlags, storeOptions, table, UsageError, withStore } from './common.js';

const iso = (time: number | null) => (time === null ? '-' : new Date(time).toISOString());

function group(program: Command, name: string, description: string): Command {
  return program.commands.find((command) => command.name() === name) ?? program.command(name).description(description);
}

function connectionsText(connections: GrantRecord[]): string {
  if (connections.length === 0) return 'No connections.';
  return table([
    ['grant_id', 'app', 'user', 'account', 'scopes', 'connected', 'status'],
    ...connections.map((grant) => [
      grant.id,
      `${grant.clientName ?? grant.clientId}${grant.clientDestroyed ? ' (destroyed)' : ''}`,
      grant.userEmail ?? '(the client itself)',
      grant.accountName ?? '-',
      grant.scopes.join(' ') || '-',
      iso(grant.createdAt),
      grant.revokedAt === null ? 'live' : `revoked ${iso(grant.revokedAt)}`,
    ]),
  ]);
}

export function registerAdminCommands(program: Command): void {
  // ---- clients connections ----
  const clients = group(program, 'clients', 'manage OAuth clients');
  storeOptions(clients.command('connections').argument('<client_id>').description('the connections (grants) a client holds'))
    .option('--all', 'include revoked connections')
    .option('--limit <n>', 'at most this many (default 100)', positiveInt)
    .action(async (clientId: string, flags: StoreFlags & { all?: boolean; limit?: number }) => {
      await withStore(flags, async (store) => {
        await getClient(store, clientId);
        const connections = await store.admin.listGrants({ clientId, includeRevoked: flags.all ?? false, limit: Math.min(flags.limit ?? 100, 10_000) });
        print(flags.json, { connections: connections.map(connectionView) }, connectionsText(connections));
      });
    });

  // ---- partners ----
  const partners = group(program, 'partners', 'manage partners');
  storeOptions(partners.command('show').argument('<partner>', 'partner_portal_id or partner ID').description('a partner with its totals')).action(
    async (idOrPortalId: string, flags: StoreFlags) => {
      await withStore(flags, async (store) => {
        const partner = await getPartner(store, idOrPortalId);
        const summary = (await listPartners(store)).find((candidate) => candidate.id === partner.id);
        const totals = { clients: summary?.clients ?? 0, accounts: summary?.accounts ?? 0, connections: summary?.connections ?? 0 };
        print(
          flags.json,
          { partner_id: partner.id, name: partner.name, partner_portal_id: partner.partnerPortalId, created_at: iso(partner.createdAt), ...totals },
          table([
            ['partner_id', partner.id],
            ['name', partner.name],
            ['partner_portal_id', partner.partnerPortalId],
            ['created_at', iso(partner.createdAt)],
            ['clients', String(totals.clients)],
            ['accounts', String(totals.accounts)],
            ['connections', String(totals.connections)],
          ]),
        );
      });
    },
  );

  storeOptions(partners.command('update').argument('<partner>', 'partner_portal_id or partner ID').description('rename a partner or change its partner_portal_id'))
    .option('--name <name>', 'new name')
    .option('--partner-portal-id <id>', 'new partner_portal_id (links that send the old one stop working)')
    .action(async (idOrPortalId: string, flags: StoreFlags & { name?: string; partnerPortalId?: string }) => {
      if (flags.name === undefined && flags.partnerPortalId === undefined) throw new UsageError('nothing to change: give --name or --partner-portal-id');
      await withStore(flags, async (store) => {
        const partner = await changePartner(store, idOrPortalId, { name: flags.name, partnerPortalId: flags.partnerPortalId }, Date.now(), { by: cliActor() });
        print(
          flags.json,
          { partner_id: partner.id, name: partner.name, partner_portal_id: partner.partnerPortalId },
          `partner_id         ${partner.id}\nname               ${partner.name}\npartner_portal_id  ${partner.partnerPortalId}`,
        );
      });
    });

  storeOptions(
    partners
      .command('report')
      .argument('<partner>', 'partner_portal_id or partner ID')
      .description('accounts created through the partner and connections made by its clients, per month (UTC), as CSV'),
  )
    .option('--from <YYYY-MM>', 'first month (default: eleven months before --to)')
    .option('--to <YYYY-MM>', 'last month, inclusive (default: this month)')
    .addOption(new Option('--kind <kind>', 'the monthly counts, or the accounts or connections themselves').choices([...EXPORT_KINDS]).default('monthly'))
    .action(async (idOrPortalId: string, flags: StoreFlags & { from?: string; to?: string; kind: string }) => {
      await withStore(flags, async (store) => {
        const now = Date.now();
        if (flags.json && flags.kind === 'monthly') {
          const report = await partnerReport(store, idOrPortalId, flags, now);
          const { partner } = report;
          print(
            true,
            { ...report, partner: { partner_id: partner.id, name: partner.name, partner_portal_id: partner.partnerPortalId } },
            '',
          );
          return;
        }
        const { body, filename } = await partnerCsv(store, idOrPortalId, flags.kind, flags, now);
        if (flags.json) print(true, { filename, csv: body }, '');
        else process.stdout.write(body);
      });
    });

  // ---- users ----
  const users = group(program, 'users', 'manage users');
  storeOptions(users.command('list').description('find users'))
    .option('--search <text>', 'part of the email or name, or the whole user ID')
    .option('--limit <n>', 'at most this many (default 50, at most 500)', positiveInt)
    .option('--offset <n>', 'skip this many', positiveInt)
    .action(async (flags: StoreFlags & { search?: string; limit?: number; offset?: number }) => {
      await withStore(flags, async (store) => {
        const { users: found, total } = await searchUsers(store, { q: flags.search, limit: flags.limit, offset: flags.offset });
        print(
          flags.json,
          { users: found.map(userView), total },
          found.length === 0
            ? 'No users.'
            : table([
                ['user_id', 'email', 'name', 'status', 'created'],
                ...found.map((user) => [
                  user.id,
                  `${user.email}${user.isAdmin ? ' (admin)' : ''}`,
                  `${user.firstName} ${user.lastName}`.trim() || '-',
                  user.lockedAt === null ? 'active' : 'locked',
                  iso(user.createdAt),
                ]),
              ]),
        );
      });
    });

  storeOptions(users.command('show').argument('<user>', 'user ID or email').description('a user with their accounts and connected apps')).action(
    async (userIdOrEmail: string, flags: StoreFlags) => {
      await withStore(flags, async (store) => {
        const { user, accounts, connections } = await userDetail(store, userIdOrEmail);
        const accountList = accounts.map((account) => ({
          account_id: account.id,
          name: account.name,
          kind: account.kind,
          partner_portal_id: account.partner?.partnerPortalId ?? null,
          created_at: iso(account.createdAt),
        }));
        print(
          flags.json,
          { user: userView(user), accounts: accountList, connections: connections.map(connectionView) },
          [
            table([
              ['user_id', user.id],
              ['email', user.email],
              ['name', `${user.firstName} ${user.lastName}`.trim() || '-'],
              ['admin', user.isAdmin ? 'yes' : 'no'],
              ['status', user.lockedAt === null ? 'active' : `locked since ${iso(user.lockedAt)}`],
            ]),
            '',
            'Accounts:',
            accounts.length === 0 ? 'None.' : table(accounts.map((account) => [account.id, account.name, account.kind, account.partner ? `via ${account.partner.name}` : ''])),
            '',
            'Connected apps:',
            connectionsText(connections),
          ].join('\n'),
        );
      });
    },
  );

  storeOptions(users.command('lock').argument('<user>', 'user ID or email').description('refuse sign-in and sign the user out everywhere'))
    .option('--reason <text>', 'a note for the audit log')
    .option('--revoke-connections', 'also revoke every app the user connected')
    .action(async (userIdOrEmail: string, flags: StoreFlags & { reason?: string; revokeConnections?: boolean }) => {
      await withStore(flags, async (store) => {
        const locked = await lockUser(store, userIdOrEmail, Date.now(), { by: cliActor(), reason: flags.reason, revokeConnections: flags.revokeConnections });
        print(
          flags.json,
          { user: userView(locked.user), sessions_ended: locked.sessionsEnded, connections_revoked: locked.connectionsRevoked },
          `${locked.user.email} is locked${locked.alreadyLocked ? ' (it already was)' : ''}: ${locked.sessionsEnded} session(s) ended, ${locked.connectionsRevoked} connection(s) revoked.`,
        );
      });
    });

  storeOptions(users.command('unlock').argument('<user>', 'user ID or email').description('let a locked user sign in again')).action(
    async (userIdOrEmail: string, flags: StoreFlags) => {
      await withStore(flags, async (store) => {
        const user = await unlockUser(store, userIdOrEmail, Date.now(), { by: cliActor() });
        print(flags.json, { user: userView(user) }, `${user.email} may sign in again.`);
      });
    },
  );

  // ---- grants (connections) ----
  const grants = group(program, 'grants', 'connections: a client acting for a user on one account');
  storeOptions(grants.command('show').argument('<grant_id>').description('one connection')).action(async (grantId: string, flags: StoreFlags) => {
    await withStore(flags, async (store) => {
      const grant = await getConnection(store, grantId);
      print(flags.json, connectionView(grant), connectionsText([grant]));
    });
  });
  storeOptions(grants.command('revoke').argument('<grant_id>').description('revoke a connection and every token issued on it'))
    .option('--reason <text>', 'a note for the audit log')
    .action(async (grantId: string, flags: StoreFlags & { reason?: string }) => {
      await withStore(flags, async (store) => {
        const { grant, alreadyRevoked } = await revokeConnection(store, grantId, Date.now(), { by: cliActor(), reason: flags.reason });
        print(
          flags.json,
          { connection: connectionView(grant), already_revoked: alreadyRevoked },
          alreadyRevoked ? `${grantId} was already revoked.` : `Revoked ${grantId}: ${grant.clientName ?? grant.clientId} can no longer use ${grant.accountName ?? 'the account'}.`,
        );
      });
    });

  // ---- scopes ----
  const scopes = program.command('scopes').description('the scope registry: names, the descriptions users consent to, defaults');
  storeOptions(scopes.command('list').description('every scope, with the clients that may request it')).action(async (flags: StoreFlags) => {
    await withStore(flags, async (store) => {
      const all = await listScopes(store);
      print(
        flags.json,
        { scopes: all.map(scopeView) },
        all.length === 0
          ? 'No scopes.'
          : table([['name', 'default', 'clients', 'description'], ...all.map((scope) => [scope.name, scope.isDefault ? 'yes' : 'no', String(scope.clients), scope.description])]),
      );
    });
  });
  storeOptions(scopes.command('set').argument('<name>').description('add a scope, or change its description or default flag'))
    .option('--description <text>', 'what users read on the consent page (required for a new scope)')
    .addOption(new Option('--default', 'granted when a client asks for no scope'))
    .addOption(new Option('--no-default', 'not a default scope'))
    .action(async (name: string, flags: StoreFlags & { description?: string; default?: boolean }) => {
      await withStore(flags, async (store) => {
        const { scope, created } = await setScope(store, { name, description: flags.description, isDefault: flags.default }, Date.now(), { by: cliActor() });
        print(flags.json, { ...scopeView(scope), created }, `${created ? 'Added' : 'Updated'} ${scope.name}${scope.isDefault ? ' (default)' : ''}: ${scope.description}`);
      });
    });
  storeOptions(scopes.command('delete').argument('<name>').description('remove a scope no client may request any more')).action(async (name: string, flags: StoreFlags) => {
    await withStore(flags, async (store) => {
      await deleteScope(store, name, Date.now(), { by: cliActor() });
      print(flags.json, { name, deleted: true }, `Deleted ${name}.`);
    });
  });

  // ---- admin API tokens ----
  const tokens = program.command('tokens').description('admin API tokens (Authorization: Bearer lk_adm_... on /admin/api)');
  storeOptions(tokens.command('create').description('create an admin API token; prints it once'))
    .requiredOption('--name <name>', 'what uses the token')
    .option('--expires-in-days <days>', 'expire after this many days (default: never)', positiveInt)
    .action(async (flags: StoreFlags & { name: string; expiresInDays?: number }) => {
      await withStore(flags, async (store) => {
        const now = Date.now();
        const { token, secret } = await createAdminToken(store, { name: flags.name, expiresInDays: flags.expiresInDays }, now, { by: cliActor() });
        print(
          flags.json,
          { ...adminTokenView(token, now), token: secret },
          `token_id  ${token.id}\ntoken     ${secret}\n\nThe token is shown only now; store it safely. Use it as: Authorization: Bearer <token>`,
        );
      });
    });
  storeOptions(tokens.command('list').description('admin API tokens (never the tokens themselves)')).action(async (flags: StoreFlags) => {
    await withStore(flags, async (store) => {
      const now = Date.now();
      const all = await listAdminTokens(store);
      print(
        flags.json,
        { tokens: all.map((token) => adminTokenView(token, now)) },
        all.length === 0
          ? 'No admin API tokens.'
          : table([
              ['token_id', 'name', 'status', 'created', 'expires', 'last used'],
              ...all.map((token) => [token.id, token.name, adminTokenStatus(token, now), iso(token.createdAt), iso(token.expiresAt), iso(token.lastUsedAt)]),
            ]),
      );
    });
  });
  storeOptions(tokens.command('revoke').argument('<token_id>').description('revoke an admin API token')).action(async (tokenId: string, flags: StoreFlags) => {
    await withStore(flags, async (store) => {
      const now = Date.now();
      const { token, alreadyRevoked } = await revokeAdminToken(store, tokenId, now, { by: cliActor() });
      print(flags.json, { token: adminTokenView(token, now), already_revoked: alreadyRevoked }, alreadyRevoked ? `${tokenId} was already revoked.` : `Revoked ${tokenId} (${token.name}).`);
    });
  });

  // ---- audit ----
  const audit = program.command('audit').description('the audit log');
  storeOptions(audit.command('list').description('events, newest first'))
    .option('--type <types>', 'event types, comma-separated; "client.*" for a family')
    .option('--actor <id>', 'who: a user ID, an admin token ID, cli:NAME or a client ID')
    .option('--subject <id>', 'what the event is about')
    .option('--from <when>', 'ISO date or date-time (UTC); a date alone includes that day')
    .option('--to <when>', 'ISO date or date-time (UTC); a date alone includes that day')
    .option('--before <id>', 'events older than this event id (the next page)')
    .option('--limit <n>', 'at most this many (default 50, at most 500)')
    .action(async (flags: StoreFlags & { type?: string; actor?: string; subject?: string; from?: string; to?: string; before?: string; limit?: string }) => {
      await withStore(flags, async (store) => {
        const page = await listAuditEvents(store, flags);
        print(
          flags.json,
          {
            events: page.events.map((event) => ({ id: event.id, at: iso(event.at), type: event.type, actor: event.actor, ip: event.ip, subject: event.subject, detail: event.detail })),
            next_before: page.nextBefore,
          },
          page.events.length === 0
            ? 'No events.'
            : table([
                ['id', 'at', 'type', 'actor', 'ip', 'subject', 'detail'],
                ...page.events.map((event) => [
                  String(event.id),
                  iso(event.at),
                  event.type,
                  event.actor ?? '-',
                  event.ip ?? '-',
                  event.subject ?? '-',
                  JSON.stringify(event.detail),
                ]),
              ]) + (page.nextBefore === null ? '' : `\n(more: --before ${page.nextBefore})`),
        );
      });
    });
}
