/**
 * The admin JSON API under /admin/api: the console's operations for scripts,
 * authenticated with admin API tokens (`Authorization: Bearer lk_adm_...`).
 * Each route is declared once, with its zod schemas; the same declarations
 * register the Fastify routes and generate the OpenAPI 3.1 description at
 * /admin/api/openapi.json, so the description cannot drift from the routes.
 *
 * Errors: 400 {error: "invalid_request", error_description, fields: {...}}
 * for bad input (every field at fault), 401 for a missing or invalid token,
 * 404 for an unknown resource, 415 for a body that is not JSON.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Account, Partner } from '../../core/model.js';
import { type Actor, listAuditEvents } from '../../services/audit.js';
import { adminTokenView, authenticateAdminToken, createAdminToken, listAdminTokens, revokeAdminToken } from '../../services/admin-tokens.js';
import {
  changeClient,
  clientView,
  destroyClient,
  getClient,
  LEGACY_RULE,
  partnersOf,
  registerClient,
  rotateClientSecret,
  searchClients,
} from '../../services/clients.js';
import { NotFoundError, ValidationError } from '../../services/errors.js';
import { connectionView, getConnection, revokeConnection } from '../../services/grants.js';
import { changePartner, getPartner, listPartners, partnerCsv, partnerDetail, partnerReport, registerPartner } from '../../services/partners.js';
import { deleteScope, listScopes, scopeView, setScope } from '../../services/scopes.js';
import { lockUser, registerUser, searchUsers, unlockUser, userDetail, userView } from '../../services/users.js';
import type { AdminToken, PartnerSummary, StoredAuditEvent } from '../../store/admin.js';
import type { AppContext } from '../context.js';
import * as S from './schemas.js';

export const ADMIN_API = '/admin/api';
export const OPENAPI_PATH = `${ADMIN_API}/openapi.json`;

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Empty = z.ZodObject<Record<string, never>>;

interface HandlerInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  by: Actor;
  token: AdminToken;
  now: number;
}

/** What a handler answers: JSON (with the route's status unless it says otherwise), or a CSV file. */
type Result = { json: unknown; status?: number } | { csv: string; filename: string };

interface ApiRoute {
  method: Method;
  /** Relative to /admin/api, in Fastify's syntax (":name"). */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodObject;
  status: number;
  response: z.ZodType | 'csv';
  handle(input: HandlerInput<unknown, unknown, unknown>): Promise<Result>;
}

function route<P extends z.ZodObject = Empty, Q extends z.ZodObject = Empty, B extends z.ZodObject = Empty>(definition: {
  method: Method;
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  status?: number;
  response: z.ZodType | 'csv';
  handle(input: HandlerInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<Result>;
}): ApiRoute {
  return { ...definition, status: definition.status ?? 200, handle: definition.handle as ApiRoute['handle'] };
}

const iso = (time: number | null) => (time === null ? null : new Date(time).toISOString());

function partnerView(partner: Partner): Record<string, unknown> {
  return { partner_id: partner.id, name: partner.name, partner_portal_id: partner.partnerPortalId, created_at: iso(partner.createdAt) };
}

function partnerSummaryView(partner: PartnerSummary): Record<string, unknown> {
  return { ...partnerView(partner), clients: partner.clients, accounts: partner.accounts, connections: partner.connections };
}

function accountView(account: Account, partner: Partner | undefined): Record<string, unknown> {
  return { account_id: account.id, name: account.name, kind: account.kind, partner_portal_id: partner?.partnerPortalId ?? null, created_at: iso(account.createdAt) };
}

function auditView(event: StoredAuditEvent): Record<string, unknown> {
  return { id: event.id, at: iso(event.at), type: event.type, actor: event.actor, ip: event.ip, subject: event.subject, detail: event.detail };
}

/** Every admin API operation. */
export function adminApiRoutes(ctx: AppContext): ApiRoute[] {
  const { store } = ctx;
  const clientJson = async (clientId: string) => {
    const client = await getClient(store, clientId);
    return clientView(client, client.partnerId ? await store.findPartner(client.partnerId) : undefined);
  };

  return [
    // ---- Clients ----
    route({
      method: 'GET',
      path: '/clients',
      operationId: 'listClients',
      summary: 'List and search OAuth clients',
      tag: 'Clients',
      query: S.ClientSearchQuery,
      response: S.ClientList,
      async handle({ query }) {
        const { clients, total } = await searchClients(store, query);
        const partners = await partnersOf(store, clients);
        return { json: { clients: clients.map((client) => clientView(client, client.partnerId ? partners.get(client.partnerId) : undefined)), total } };
      },
    }),
    route({
      method: 'POST',
      path: '/clients',
      operationId: 'createClient',
      summary: 'Register an OAuth client',
      description: 'The response carries the client secret (confidential clients), shown this once. A new client cannot be legacy (direct login) unless allow_new_legacy is true.',
      tag: 'Clients',
      body: S.ClientCreate,
      status: 201,
      response: S.ClientCreated,
      async handle({ body, by, now }) {
        const { client, secret } = await registerClient(
          store,
          {
            name: body.name,
            redirectUris: body.redirect_uris,
            scopes: body.scopes,
            grantTypes: body.grant_types,
            isPublic: body.public,
            isLegacy: body.legacy,
            accessTokenTtlSeconds: body.access_token_ttl,
            refreshTokenTtlSeconds: body.refresh_token_ttl,
            accessTokenFormat: body.access_token_format,
            isResourceServer: body.resource_server,
            partnerPortalId: body.partner_portal_id,
          },
          now,
          { by, allowNewLegacy: body.allow_new_legacy },
        );
        return { json: { ...(await clientJson(client.id)), client_secret: secret ?? null } };
      },
    }),
    route({
      method: 'GET',
      path: '/clients/:client_id',
      operationId: 'getClient',
      summary: 'Show an OAuth client (never its secret)',
      tag: 'Clients',
      params: S.ClientParams,
      response: S.ClientDetail,
      async handle({ params, now }) {
        const json = await clientJson(params.client_id);
        const [live, secrets] = await Promise.all([store.admin.countLiveGrants([params.client_id]), store.admin.activeClientSecrets(params.client_id, now)]);
        return {
          json: {
            ...json,
            live_connections: live.get(params.client_id) ?? 0,
            secrets: secrets.map((secret) => ({ created_at: iso(secret.createdAt), expires_at: iso(secret.expiresAt) })),
          },
        };
      },
    }),
    route({
      method: 'PATCH',
      path: '/clients/:client_id',
      operationId: 'updateClient',
      summary: 'Change an OAuth client',
      tag: 'Clients',
      params: S.ClientParams,
      body: S.ClientUpdate,
      response: S.Client,
      async handle({ params, body, by, now }) {
        await changeClient(
          store,
          params.client_id,
          {
            name: body.name,
            redirectUris: body.redirect_uris,
            scopes: body.scopes,
            grantTypes: body.grant_types,
            isLegacy: body.legacy,
            accessTokenTtlSeconds: body.access_token_ttl,
            refreshTokenTtlSeconds: body.refresh_token_ttl,
            accessTokenFormat: body.access_token_format,
            isResourceServer: body.resource_server,
            partnerPortalId: body.partner_portal_id,
          },
          now,
          { by, allowNewLegacy: body.allow_new_legacy },
        );
        return { json: await clientJson(params.client_id) };
      },
    }),
    route({
      method: 'DELETE',
      path: '/clients/:client_id',
      operationId: 'destroyClient',
      summary: 'Destroy an OAuth client',
      description: 'Revokes every connection of the client with its tokens and codes, and deletes its secrets; it stops working at once. Reports and the audit log keep its name.',
      tag: 'Clients',
      params: S.ClientParams,
      response: S.ClientDestroyed,
      async handle({ params, by, now }) {
        const { revoked } = await destroyClient(store, params.client_id, now, { by });
        return {
          json: {
            client_id: params.client_id,
            destroyed: true,
            revoked: { connections: revoked.grants },
          },
        };
      },
    }),
    route({
      method: 'POST',
      path: '/clients/:client_id/rotate-secret',
      operationId: 'rotateClientSecret',
      summary: 'Issue a new client secret',
      description: 'The new secret is shown this once; the previous one keeps working for overlap_seconds.',
      tag: 'Clients',
      params: S.ClientParams,
      body: S.RotateSecret,
      response: S.SecretRotated,
      async handle({ params, body, by, now }) {
        const overlap = body.overlap_seconds ?? ctx.config.secretRotationOverlapSeconds;
        const secret = await rotateClientSecret(store, params.client_id, overlap, now, { by });
        return { json: { client_id: params.client_id, client_secret: secret, previous_secret_expires_at: iso(now + overlap * 1000) } };
      },
    }),
    route({
      method: 'GET',
      path: '/clients/:client_id/connections',
      operationId: 'listClientConnections',
      summary: 'The connections (grants) a client holds',
      tag: 'Clients',
      params: S.ClientParams,
      query: S.ConnectionQuery,
      response: S.ConnectionList,
      async handle({ params, query }) {
        await getClient(store, params.client_id);
        const limit = query.limit ?? 50;
        if (limit < 1 || limit > 500) throw ValidationError.field('limit', 'limit is a whole number from 1 to 500');
        const grants = await store.admin.listGrants({ clientId: params.client_id, includeRevoked: query.include_revoked ?? false, limit, offset: query.offset });
        return { json: { connections: grants.map(connectionView) } };
      },
    }),

    // ---- Connections ----
    route({
      method: 'GET',
      path: '/grants/:grant_id',
      operationId: 'getConnection',
      summary: 'Show a connection (grant)',
      tag: 'Connections',
      params: S.GrantParams,
      response: S.Connection,
      async handle({ params }) {
        return { json: connectionView(await getConnection(store, params.grant_id)) };
      },
    }),
    route({
      method: 'POST',
      path: '/grants/:grant_id/revoke',
      operationId: 'revokeConnection',
      summary: 'Revoke a connection and every token issued on it',
      tag: 'Connections',
      params: S.GrantParams,
      body: S.RevokeConnection,
      response: S.ConnectionRevoked,
      async handle({ params, body, by, now }) {
        const { grant, alreadyRevoked } = await revokeConnection(store, params.grant_id, now, { by, reason: body.reason });
        return { json: { connection: connectionView(grant), already_revoked: alreadyRevoked } };
      },
    }),

    // ---- Partners ----
    route({
      method: 'GET',
      path: '/partners',
      operationId: 'listPartners',
      summary: 'List partners with their clients, accounts and connections',
      tag: 'Partners',
      response: S.PartnerList,
      async handle() {
        return { json: { partners: (await listPartners(store)).map(partnerSummaryView) } };
      },
    }),
    route({
      method: 'POST',
      path: '/partners',
      operationId: 'createPartner',
      summary: 'Register a partner',
      tag: 'Partners',
      body: S.PartnerCreate,
      status: 201,
      response: S.Partner,
      async handle({ body, by, now }) {
        return { json: partnerView(await registerPartner(store, { name: body.name, partnerPortalId: body.partner_portal_id }, now, { by })) };
      },
    }),
    route({
      method: 'GET',
      path: '/partners/:partner',
      operationId: 'getPartner',
      summary: 'Show a partner with its totals',
      tag: 'Partners',
      params: S.PartnerParams,
      response: S.PartnerSummary,
      async handle({ params }) {
        const partner = await getPartner(store, params.partner);
        const summary = (await listPartners(store)).find((candidate) => candidate.id === partner.id);
        if (!summary) throw new NotFoundError(`no partner ${params.partner}`);
        return { json: partnerSummaryView(summary) };
      },
    }),
    route({
      method: 'PATCH',
      path: '/partners/:partner',
      operationId: 'updatePartner',
      summary: 'Rename a partner or change its partner_portal_id',
      tag: 'Partners',
      params: S.PartnerParams,
      body: S.PartnerUpdate,
      response: S.Partner,
      async handle({ params, body, by, now }) {
        return { json: partnerView(await changePartner(store, params.partner, { name: body.name, partnerPortalId: body.partner_portal_id }, now, { by })) };
      },
    }),
    route({
      method: 'GET',
      path: '/partners/:partner/report',
      operationId: 'partnerReport',
      summary: 'Accounts created through the partner and connections made by its clients, per month (UTC)',
      tag: 'Partners',
      params: S.PartnerParams,
      query: S.ReportQuery,
      response: S.PartnerReport,
      async handle({ params, query, now }) {
        const report = await partnerReport(store, params.partner, query, now);
        return { json: { ...report, partner: partnerView(report.partner) } };
      },
    }),
    route({
      method: 'GET',
      path: '/partners/:partner/report.csv',
      operationId: 'partnerReportCsv',
      summary: 'The partner report as CSV: monthly counts, accounts or connections',
      tag: 'Partners',
      params: S.PartnerParams,
      query: S.ExportQuery,
      response: 'csv',
      async handle({ params, query, now }) {
        const { filename, body } = await partnerCsv(store, params.partner, query.kind ?? 'monthly', query, now);
        return { csv: body, filename };
      },
    }),
    route({
      method: 'GET',
      path: '/partners/:partner/accounts',
      operationId: 'listPartnerAccounts',
      summary: 'Accounts created through the partner, newest first',
      tag: 'Partners',
      params: S.PartnerParams,
      query: S.RangeQuery,
      response: S.PartnerAccountList,
      async handle({ params, query, now }) {
        const limit = checkRangeLimit(query.limit);
        const report = await partnerReport(store, params.partner, query, now);
        const { accounts } = await partnerDetail(store, report.partner, report, limit);
        return {
          json: {
            accounts: accounts.map((account) => ({ account_id: account.id, name: account.name, kind: account.kind, members: account.members, created_at: iso(account.createdAt) })),
          },
        };
      },
    }),
    route({
      method: 'GET',
      path: '/partners/:partner/connections',
      operationId: 'listPartnerConnections',
      summary: 'Connections made by the partner’s clients, newest first',
      tag: 'Partners',
      params: S.PartnerParams,
      query: S.RangeQuery,
      response: S.ConnectionList,
      async handle({ params, query, now }) {
        const limit = checkRangeLimit(query.limit);
        const report = await partnerReport(store, params.partner, query, now);
        const { connections } = await partnerDetail(store, report.partner, report, limit);
        return { json: { connections: connections.map(connectionView) } };
      },
    }),

    // ---- Users ----
    route({
      method: 'GET',
      path: '/users',
      operationId: 'listUsers',
      summary: 'Find users',
      tag: 'Users',
      query: S.UserSearchQuery,
      response: S.UserList,
      async handle({ query }) {
        const { users, total } = await searchUsers(store, query);
        return { json: { users: users.map(userView), total } };
      },
    }),
    route({
      method: 'POST',
      path: '/users',
      operationId: 'createUser',
      summary: 'Create a user and their accounts',
      tag: 'Users',
      body: S.UserCreate,
      status: 201,
      response: S.UserCreated,
      async handle({ body, by, now }) {
        const { user, accounts } = await registerUser(
          store,
          {
            email: body.email,
            password: body.password,
            firstName: body.first_name,
            lastName: body.last_name,
            isAdmin: body.admin,
            accounts: body.accounts,
            by,
          },
          now,
        );
        return { json: { user: userView(user), accounts: accounts.map((account) => accountView(account, undefined)) } };
      },
    }),
    route({
      method: 'GET',
      path: '/users/:user',
      operationId: 'getUser',
      summary: 'A user with their accounts and connected apps',
      tag: 'Users',
      params: S.UserParams,
      response: S.UserDetail,
      async handle({ params }) {
        const detail = await userDetail(store, params.user);
        return {
          json: {
            user: userView(detail.user),
            accounts: detail.accounts.map((account) => accountView(account, account.partner)),
            connections: detail.connections.map(connectionView),
          },
        };
      },
    }),
    route({
      method: 'POST',
      path: '/users/:user/lock',
      operationId: 'lockUser',
      summary: 'Lock a user: no sign-in, signed out everywhere',
      tag: 'Users',
      params: S.UserParams,
      body: S.LockUser,
      response: S.UserLocked,
      async handle({ params, body, by, now }) {
        const locked = await lockUser(store, params.user, now, { by, reason: body.reason, revokeConnections: body.revoke_connections });
        return { json: { user: userView(locked.user), sessions_ended: locked.sessionsEnded, connections_revoked: locked.connectionsRevoked } };
      },
    }),
    route({
      method: 'POST',
      path: '/users/:user/unlock',
      operationId: 'unlockUser',
      summary: 'Unlock a user',
      tag: 'Users',
      params: S.UserParams,
      body: S.UnlockUser,
      response: S.UserUnlocked,
      async handle({ params, by, now }) {
        return { json: { user: userView(await unlockUser(store, params.user, now, { by })) } };
      },
    }),

    // ---- Audit log ----
    route({
      method: 'GET',
      path: '/audit',
      operationId: 'listAuditEvents',
      summary: 'The audit log, newest first, filtered',
      tag: 'Audit log',
      query: S.AuditQuery,
      response: S.AuditPage,
      async handle({ query }) {
        const page = await listAuditEvents(store, query);
        return { json: { events: page.events.map(auditView), next_before: page.nextBefore } };
      },
    }),
    route({
      method: 'GET',
      path: '/audit/types',
      operationId: 'listAuditTypes',
      summary: 'The event types recorded so far',
      tag: 'Audit log',
      response: S.AuditTypes,
      async handle() {
        return { json: { types: await store.admin.auditTypes() } };
      },
    }),

    // ---- Scopes ----
    route({
      method: 'GET',
      path: '/scopes',
      operationId: 'listScopes',
      summary: 'The scope registry',
      tag: 'Scopes',
      response: S.ScopeList,
      async handle() {
        return { json: { scopes: (await listScopes(store)).map(scopeView) } };
      },
    }),
    route({
      method: 'PUT',
      path: '/scopes/:name',
      operationId: 'setScope',
      summary: 'Add a scope, or change its description and default flag',
      tag: 'Scopes',
      params: S.ScopeParams,
      body: S.ScopeSet,
      response: S.Scope,
      async handle({ params, body, by, now }) {
        const { scope, created } = await setScope(store, { name: params.name, description: body.description, isDefault: body.default }, now, { by });
        return { json: scopeView(scope), status: created ? 201 : 200 };
      },
    }),
    route({
      method: 'DELETE',
      path: '/scopes/:name',
      operationId: 'deleteScope',
      summary: 'Remove a scope no client may request any more',
      tag: 'Scopes',
      params: S.ScopeParams,
      response: S.ScopeDeleted,
      async handle({ params, by, now }) {
        await deleteScope(store, params.name, now, { by });
        return { json: { name: params.name, deleted: true } };
      },
    }),

    // ---- Admin API tokens ----
    route({
      method: 'GET',
      path: '/tokens',
      operationId: 'listAdminTokens',
      summary: 'Admin API tokens (never the tokens themselves)',
      tag: 'Admin API tokens',
      response: S.TokenList,
      async handle({ now }) {
        return { json: { tokens: (await listAdminTokens(store)).map((token) => adminTokenView(token, now)) } };
      },
    }),
    route({
      method: 'POST',
      path: '/tokens',
      operationId: 'createAdminToken',
      summary: 'Create an admin API token, shown once',
      tag: 'Admin API tokens',
      body: S.TokenCreate,
      status: 201,
      response: S.TokenCreated,
      async handle({ body, by, token, now }) {
        const created = await createAdminToken(store, { name: body.name, expiresInDays: body.expires_in_days }, now, { by, owner: token.createdBy });
        return { json: { ...adminTokenView(created.token, now), token: created.secret } };
      },
    }),
    route({
      method: 'DELETE',
      path: '/tokens/:token_id',
      operationId: 'revokeAdminToken',
      summary: 'Revoke an admin API token',
      tag: 'Admin API tokens',
      params: S.TokenParams,
      response: S.TokenRevoked,
      async handle({ params, by, now }) {
        const { token, alreadyRevoked } = await revokeAdminToken(store, params.token_id, now, { by });
        return { json: { token: adminTokenView(token, now), already_revoked: alreadyRevoked } };
      },
    }),
  ];
}

function checkRangeLimit(limit: number | undefined): number {
  const value = limit ?? 100;
  if (value < 1 || value > 1000) throw ValidationError.field('limit', 'limit is a whole number from 1 to 1000');
  return value;
}

// ---- Errors ---------------------------------------------------------------------------

function sendError(reply: FastifyReply, status: number, error: string, description: string, fields?: Record<string, string>): FastifyReply {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .type('application/json; charset=utf-8')
    .send({ error, error_description: description, ...(fields ? { fields } : {}) });
}

/** Field-level messages from a zod failure; `where` prefixes path and query fields. */
function fieldsOf(error: z.ZodError, where: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) fields[[...issue.path, key].join('.')] ??= `Unknown ${where}field.`;
      continue;
    }
    const name = issue.path.length > 0 ? issue.path.join('.') : where === '' ? '(body)' : `(${where.trim()})`;
    let message = issue.message;
    if (issue.code === 'invalid_type') {
      message = issue.input === undefined ? 'This field is required.' : `Expected ${issue.expected}.`;
      if (issue.path.length === 0 && where === '') message = 'The body must be a JSON object.';
    }
    fields[name] ??= message;
  }
  return fields;
}

function invalid(reply: FastifyReply, fields: Record<string, string>): FastifyReply {
  const first = Object.entries(fields)[0];
  return sendError(reply, 400, 'invalid_request', first ? `${first[0]}: ${first[1]}` : 'The request is invalid.', fields);
}

// ---- Authentication -----------------------------------------------------------------

const BEARER = /^Bearer +(\S+)$/i;
const REALM = 'latchkey-admin';

/** The admin token of a request, or a 401 sent. */
async function authenticate(ctx: AppContext, request: FastifyRequest, reply: FastifyReply): Promise<AdminToken | undefined> {
  const header = request.headers.authorization;
  const presented = header === undefined ? undefined : BEARER.exec(header.trim())?.[1];
  if (presented === undefined) {
    reply.header('www-authenticate', `Bearer realm="${REALM}"`);
    sendError(reply, 401, 'unauthorized', 'An admin API token is required: Authorization: Bearer lk_adm_...');
    return undefined;
  }
  const outcome = await authenticateAdminToken(ctx.store, presented, ctx.clock.now(), request.ip);
  if ('refused' in outcome) {
    // The reason is logged, never the token; the caller only learns that it is invalid.
    request.log.info({ reason: outcome.refused }, 'admin API token refused');
    reply.header('www-authenticate', `Bearer realm="${REALM}", error="invalid_token"`);
    sendError(reply, 401, 'invalid_token', 'The admin API token is invalid, expired or revoked.');
    return undefined;
  }
  return outcome.token;
}

// ---- Registration -------------------------------------------------------------------

export function registerAdminApi(app: FastifyInstance, ctx: AppContext): void {
  const routes = adminApiRoutes(ctx);
  const document = openApiDocument(routes, ctx.settings.issuer);

  app.get(OPENAPI_PATH, async (_request, reply) => reply.header('cache-control', 'no-cache').send(document));

  for (const definition of routes) {
    app.route({
      method: definition.method,
      url: `${ADMIN_API}${definition.path}`,
      config: { errorFormat: 'json' },
      handler: async (request, reply) => {
        const token = await authenticate(ctx, request, reply);
        if (!token) return reply;
        const params = (definition.params ?? z.object({})).safeParse(request.params ?? {});
        if (!params.success) return sendError(reply, 404, 'not_found', 'There is no such resource.');
        const query = (definition.query ?? z.strictObject({})).safeParse(request.query ?? {});
        if (!query.success) return invalid(reply, fieldsOf(query.error, 'query '));
        let body: unknown = {};
        if (definition.body) {
          const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
          if (request.body !== undefined && type !== 'application/json') {
            return sendError(reply, 415, 'invalid_request', 'The admin API takes application/json request bodies.');
          }
          const parsed = definition.body.safeParse(request.body ?? {});
          if (!parsed.success) return invalid(reply, fieldsOf(parsed.error, ''));
          body = parsed.data;
        }
        try {
          const result = await definition.handle({
            params: params.data,
            query: query.data,
            body,
            token,
            by: { actor: token.id, ip: request.ip, via: 'api', onBehalfOf: token.createdBy },
            now: ctx.clock.now(),
          });
          reply.header('cache-control', 'no-store');
          if ('csv' in result) {
            return reply
              .header('content-disposition', `attachment; filename="${result.filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`)
              .type('text/csv; charset=utf-8')
              .send(result.csv);
          }
          return reply.code(result.status ?? definition.status).send(result.json);
        } catch (error) {
          if (error instanceof ValidationError) {
            const fields: Record<string, string> = Object.keys(error.fields).length > 0 ? { ...error.fields } : { '(request)': error.message };
            if (fields.legacy === LEGACY_RULE) fields.legacy = `${LEGACY_RULE} (set allow_new_legacy to true to override)`;
            return invalid(reply, fields);
          }
          if (error instanceof NotFoundError) return sendError(reply, 404, 'not_found', `${error.message[0]?.toUpperCase() ?? ''}${error.message.slice(1)}.`);
          throw error;
        }
      },
    });
  }
}

// ---- OpenAPI 3.1 --------------------------------------------------------------------

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

function parametersOf(schema: z.ZodObject | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => {
    const property = jsonSchema(field as z.ZodType, 'input');
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === 'path' || !(field as z.ZodType).safeParse(undefined).success,
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

/** The OpenAPI 3.1 description of the routes: paths in OpenAPI's "{name}" syntax. */
export function openApiDocument(routes: readonly ApiRoute[], issuer: string): JsonSchema {
  const errorRef = { $ref: '#/components/schemas/Error' };
  const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: errorRef } } });
  const paths: Record<string, Record<string, unknown>> = {};
  for (const definition of routes) {
    const path = `${ADMIN_API}${definition.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`;
    const responses: Record<string, unknown> = {
      [String(definition.status)]: {
        description: definition.summary,
        content:
          definition.response === 'csv'
            ? { 'text/csv': { schema: { type: 'string' } } }
            : { 'application/json': { schema: jsonSchema(definition.response, 'output') } },
      },
      '400': errorResponse('Invalid input: `fields` names every field at fault.'),
      '401': errorResponse('No admin API token, or an invalid, expired or revoked one.'),
    };
    if (definition.operationId === 'setScope') responses['201'] = { description: 'The scope was added.', content: { 'application/json': { schema: jsonSchema(S.Scope, 'output') } } };
    if (definition.params) responses['404'] = errorResponse('No such resource.');
    if (definition.body) responses['415'] = errorResponse('The body is not application/json.');
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[definition.method.toLowerCase()] = {
      operationId: definition.operationId,
      summary: definition.summary,
      ...(definition.description ? { description: definition.description } : {}),
      tags: [definition.tag],
      parameters: [...parametersOf(definition.params, 'path'), ...parametersOf(definition.query, 'query')],
      ...(definition.body
        ? {
            requestBody: {
              // Optional when every field is: an empty body is then the same as {}.
              required: !definition.body.safeParse({}).success,
              content: { 'application/json': { schema: jsonSchema(definition.body, 'input') } },
            },
          }
        : {}),
      responses,
    };
  }
  paths[OPENAPI_PATH] = {
    get: {
      operationId: 'openApi',
      summary: 'This description',
      tags: ['Meta'],
      parameters: [],
      security: [],
      responses: { '200': { description: 'The OpenAPI 3.1 description of the admin API.', content: { 'application/json': { schema: { type: 'object' } } } } },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Latchkey admin API',
      version: '1',
      description:
        'Manage OAuth clients, partners, users, connections, scopes and admin API tokens; read the audit log. Authenticate with an admin API token (created in the admin console at /admin/tokens or with `latchkey tokens create`). Every change is recorded in the audit log with the token as the actor.',
    },
    servers: [{ url: issuer }],
    security: [{ adminToken: [] }],
    tags: ['Clients', 'Connections', 'Partners', 'Users', 'Audit log', 'Scopes', 'Admin API tokens', 'Meta'].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'An admin API token, lk_adm_...' } },
      schemas: { Error: jsonSchema(S.ApiError, 'output') },
    },
  };
}
