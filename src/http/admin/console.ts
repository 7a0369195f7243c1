/**
 * The admin console at /admin: server-rendered pages for the platform's
 * administrators (users.is_admin), on the same browser session as the user
 * pages. A signed-out visitor is sent to /login, a signed-in non-admin gets
 * 403. Every form carries the session's CSRF token. Each action goes through
 * the same services as the CLI and the admin API, and is audited with the
 * admin's user id and address.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Client, Partner, User } from '../../core/model.js';
import { type Actor, listAuditEvents } from '../../services/audit.js';
import { createAdminToken, listAdminTokens, revokeAdminToken } from '../../services/admin-tokens.js';
import {
  type ClientRegistration,
  changeClient,
  destroyClient,
  registerClient,
  rotateClientSecret,
  searchClients,
} from '../../services/clients.js';
import { NotFoundError, ValidationError } from '../../services/errors.js';
import { revokeConnection } from '../../services/grants.js';
import { changePartner, listPartners, partnerCsv, partnerDetail, partnerReport, registerPartner } from '../../services/partners.js';
import { deleteScope, listScopes, setScope } from '../../services/scopes.js';
import { lockUser, searchUsers, unlockUser, userDetail } from '../../services/users.js';
import type { StoredAuditEvent } from '../../store/admin.js';
import type { Session } from '../../store/types.js';
import { auditPage } from '../../views/admin/audit.js';
import {
  type ClientFormValues,
  clientCreatedPage,
  clientDetailPage,
  clientFormPage,
  clientFormValues,
  clientListPage,
  destroyConfirmPage,
  secretRotatedPage,
} from '../../views/admin/clients.js';
import { ADMIN_SCRIPT_PATH, type AdminFrame, type FieldErrors } from '../../views/admin/common.js';
import { partnerListPage, partnerPage } from '../../views/admin/partners.js';
import { scopesPage, tokensPage } from '../../views/admin/scopes.js';
import { ADMIN_SCRIPT } from '../../views/admin/script.js';
import { userListPage, userPage } from '../../views/admin/users.js';
import type { AppContext } from '../context.js';
import { sendErrorPage } from '../errors.js';
import { isFormParams } from '../form.js';
import { rememberReturnTo } from '../return-to.js';
import { contentSecurityPolicy, logoOrigin } from '../security-headers.js';
import { Sessions } from '../session.js';

/** An administrator's request: who they are, their page frame and their audit identity. */
export interface ConsoleAdmin {
  user: User;
  session: Session;
  frame: AdminFrame;
  by: Actor;
}

type Form = Record<string, string>;

const PAGE_SIZE = 50;
const CLIENT_ID = /^lkc_[A-Za-z0-9_-]{1,64}$/;
const GRANT_ID = /^grt_[A-Za-z0-9_-]{1,64}$/;
const USER_ID = /^usr_[A-Za-z0-9_-]{1,64}$/;
const PARTNER_ID = /^ptn_[A-Za-z0-9_-]{1,64}$/;
const TOKEN_ID = /^adt_[A-Za-z0-9_-]{1,64}$/;

function queryString(request: FastifyRequest, name: string): string {
  const value = (request.query as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : '';
}

function offsetOf(request: FastifyRequest): number {
  const text = queryString(request, 'offset');
  return /^\d{1,9}$/.test(text) ? Number(text) : 0;
}

/** Reads the client form into service input; problems the services cannot see (a TTL that is no number) are reported here. */
export function clientInputFromForm(form: Form, creating: boolean): { input: Partial<ClientRegistration>; values: ClientFormValues; errors: FieldErrors; allowNewLegacy: boolean } {
  const errors: FieldErrors = {};
  const keys = Object.keys(form);
  const values: ClientFormValues = {
    name: form.name ?? '',
    redirectUris: form.redirect_uris ?? '',
    scopes: keys.filter((key) => key.startsWith('scope.')).map((key) => key.slice('scope.'.length)),
    grantTypes: keys.filter((key) => key.startsWith('grant_type.')).map((key) => key.slice('grant_type.'.length)),
    isPublic: form.client_type === 'public',
    legacy: form.legacy === 'on',
    allowNewLegacy: form.allow_new_legacy === 'on',
    accessTokenTtl: (form.access_token_ttl ?? '').trim(),
    refreshTokenTtl: (form.refresh_token_ttl ?? '').trim(),
    accessTokenFormat: form.access_token_format ?? '',
    resourceServer: form.resource_server === 'on',
    partnerPortalId: form.partner_portal_id ?? '',
  };
  const ttl = (text: string, field: string): number | null | undefined => {
    if (text === '') return null;
    if (/^\d{1,9}$/.test(text)) return Number(text);
    errors[field] = 'Enter a whole number of seconds, or leave it empty for the server default.';
    return undefined;
  };
  if (creating && form.client_type !== undefined && form.client_type !== 'public' && form.client_type !== 'confidential') {
    errors.public = 'Choose confidential or public.';
  }
  const format = values.accessTokenFormat;
  const input: Partial<ClientRegistration> = {
    name: values.name,
    redirectUris: values.redirectUris
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== ''),
    scopes: values.scopes,
    grantTypes: values.grantTypes,
    isLegacy: values.legacy,
    accessTokenTtlSeconds: ttl(values.accessTokenTtl, 'access_token_ttl'),
    refreshTokenTtlSeconds: ttl(values.refreshTokenTtl, 'refresh_token_ttl'),
    accessTokenFormat: format === 'opaque' || format === 'jwt' ? format : null,
    isResourceServer: values.resourceServer,
    partnerPortalId: values.partnerPortalId.trim() === '' ? null : values.partnerPortalId.trim(),
  };
  if (format !== '' && format !== 'opaque' && format !== 'jwt') errors.access_token_format = 'Choose the server default, opaque or JWT.';
  if (creating) input.isPublic = values.isPublic;
  return { input, values, errors, allowNewLegacy: values.allowNewLegacy };
}

export function registerAdminConsole(app: FastifyInstance, ctx: AppContext): void {
  const { store, sessions, brand, clock } = ctx;
  const logo = logoOrigin(ctx.config.brandLogoUrl);
  // The admin pages may run the console's own script, and only from /assets; their forms post only here.
  const csp = `${contentSecurityPolicy(logo ? [logo] : [])}; script-src 'self'; form-action 'self'`;
  const pageConfig = { config: { errorFormat: 'page' as const } };

  function send(reply: FastifyReply, body: string, status = 200): FastifyReply {
    return reply.code(status).header('cache-control', 'no-store').header('content-security-policy', csp).type('text/html; charset=utf-8').send(body);
  }

  async function admin(request: FastifyRequest, reply: FastifyReply): Promise<ConsoleAdmin | undefined> {
    const session = await sessions.current(request);
    const user = session?.userId ? await store.findUser(session.userId) : undefined;
    if (!session || !user || user.lockedAt !== null) {
      // Back here after signing in (GET pages only: a form post is not replayed).
      if (request.method === 'GET') rememberReturnTo(reply, request.url.split('?')[0] ?? '', ctx.settings.issuer.startsWith('https://'));
      reply.redirect('/login', 303);
      return undefined;
    }
    if (!user.isAdmin) {
      sendErrorPage(reply, 403, 'Administrators only', 'The admin console is for the platform’s administrators, and your account is not one of them.');
      return undefined;
    }
    return {
      user,
      session,
      frame: { email: user.email, csrfToken: session.csrfToken, brand },
      by: { actor: user.id, ip: request.ip, via: 'console' },
    };
  }

  type Handler = (request: FastifyRequest, reply: FastifyReply, who: ConsoleAdmin) => Promise<unknown>;
  type FormHandler = (request: FastifyRequest, reply: FastifyReply, who: ConsoleAdmin, form: Form) => Promise<unknown>;

  /**
   * What a handler did not expect still gets the right page: something another
   * admin removed meanwhile is a 404, input a service refused is a 400.
   */
  async function guarded(reply: FastifyReply, work: () => Promise<unknown>): Promise<unknown> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof NotFoundError) return sendErrorPage(reply, 404, 'Not found', `${error.message[0]?.toUpperCase() ?? ''}${error.message.slice(1)}. It may have just been removed.`);
      if (error instanceof ValidationError) return sendErrorPage(reply, 400, 'This cannot be done', error.message);
      throw error;
    }
  }

  const view = (handler: Handler) => async (request: FastifyRequest, reply: FastifyReply) => {
    const who = await admin(request, reply);
    return who ? guarded(reply, () => handler(request, reply, who)) : reply;
  };

  /** A form post: an administrator, with the session's CSRF token. */
  const action = (handler: FormHandler) => async (request: FastifyRequest, reply: FastifyReply) => {
    const who = await admin(request, reply);
    if (!who) return reply;
    const form: Form = isFormParams(request.body) ? request.body.params : {};
    if (!Sessions.csrfValid(who.session, form.csrf_token)) {
      return sendErrorPage(reply, 403, 'This form has expired', 'Reload the page and try again.');
    }
    return guarded(reply, () => handler(request, reply, who, form));
  };

  const notFound = (reply: FastifyReply, what: string) => sendErrorPage(reply, 404, `${what} not found`, `There is no such ${what.toLowerCase()}. It may have been removed.`);

  /** The client of a route, or a 404 page. */
  async function clientOf(request: FastifyRequest, reply: FastifyReply): Promise<Client | undefined> {
    const { id } = request.params as { id: string };
    const client = CLIENT_ID.test(id) ? await store.findClient(id) : undefined;
    if (!client) notFound(reply, 'Client');
    return client;
  }

  const partnerById = async (id: string | null) => (id ? await store.findPartner(id) : undefined);

  app.get(ADMIN_SCRIPT_PATH, async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=3600').type('text/javascript; charset=utf-8').send(ADMIN_SCRIPT),
  );

  app.get('/admin', pageConfig, view(async (_request, reply) => reply.redirect('/admin/clients', 303)));

  // ---- OAuth clients -----------------------------------------------------------

  async function showClientList(request: FastifyRequest, reply: FastifyReply, who: ConsoleAdmin, messages: { notice?: string } = {}) {
    const q = queryString(request, 'q').slice(0, 200);
    const partner = queryString(request, 'partner');
    const offset = offsetOf(request);
    const partners = await store.listPartners();
    let result: { clients: Client[]; total: number } = { clients: [], total: 0 };
    let error: string | undefined;
    try {
      result = await searchClients(store, { q, partner, limit: PAGE_SIZE, offset });
    } catch (caught) {
      if (!(caught instanceof ValidationError)) throw caught;
      error = caught.message;
    }
    const connections = await store.admin.countLiveGrants(result.clients.map((client) => client.id));
    return send(
      reply,
      clientListPage({ frame: who.frame, ...result, offset, limit: PAGE_SIZE, q, partner, partners, connections, notice: messages.notice, error }),
      error ? 400 : 200,
    );
  }

  app.get(
    '/admin/clients',
    pageConfig,
    view(async (request, reply, who) => {
      const destroyed = queryString(request, 'destroyed');
      let notice: string | undefined;
      if (CLIENT_ID.test(destroyed)) {
        const record = await store.admin.findClientRecord(destroyed);
        if (record?.destroyedAt != null) notice = `${record.name} was destroyed. Its connections were revoked and its tokens no longer work.`;
      }
      return showClientList(request, reply, who, { notice });
    }),
  );

  app.get(
    '/admin/clients/new',
    pageConfig,
    view(async (_request, reply, who) => {
      const [scopes, partners] = await Promise.all([store.listScopes(), store.listPartners()]);
      return send(reply, clientFormPage({ frame: who.frame, values: clientFormValues(undefined, partners), scopes, partners }));
    }),
  );

  app.post(
    '/admin/clients',
    pageConfig,
    action(async (_request, reply, who, form) => {
      const { input, values, errors, allowNewLegacy } = clientInputFromForm(form, true);
      const again = async (fieldErrors: FieldErrors) => {
        const [scopes, partners] = await Promise.all([store.listScopes(), store.listPartners()]);
        return send(reply, clientFormPage({ frame: who.frame, values, errors: fieldErrors, scopes, partners }), 400);
      };
      if (Object.keys(errors).length > 0) return again(errors);
      try {
        const { client, secret } = await registerClient(store, { ...input, name: input.name ?? '' }, clock.now(), { by: who.by, allowNewLegacy });
        // The secret is in this response only: it is never stored or shown again.
        return send(reply, clientCreatedPage({ frame: who.frame, client, secret, partner: await partnerById(client.partnerId) }), 201);
      } catch (error) {
        if (error instanceof ValidationError) return again(Object.keys(error.fields).length > 0 ? error.fields : { name: error.message });
        throw error;
      }
    }),
  );

  app.get(
    '/admin/clients/:id',
    pageConfig,
    view(async (request, reply, who) => {
      const client = await clientOf(request, reply);
      if (!client) return reply;
      const [partner, connections, live, secrets] = await Promise.all([
        partnerById(client.partnerId),
        store.admin.listGrants({ clientId: client.id, includeRevoked: true, limit: PAGE_SIZE }),
        store.admin.countLiveGrants([client.id]),
        store.admin.activeClientSecrets(client.id, clock.now()),
      ]);
      const notices: Record<string, string> = {
        updated: `${client.name} was updated.`,
        revoked: 'The connection was revoked; the app can no longer use that account.',
      };
      return send(
        reply,
        clientDetailPage({
          frame: who.frame,
          client,
          partner,
          connections,
          liveConnections: live.get(client.id) ?? 0,
          secrets,
          defaultOverlapSeconds: ctx.config.secretRotationOverlapSeconds,
          notice: notices[queryString(request, 'done')],
        }),
      );
    }),
  );

  app.get(
    '/admin/clients/:id/edit',
    pageConfig,
    view(async (request, reply, who) => {
      const client = await clientOf(request, reply);
      if (!client) return reply;
      const [scopes, partners] = await Promise.all([store.listScopes(), store.listPartners()]);
      return send(reply, clientFormPage({ frame: who.frame, client, values: clientFormValues(client, partners), scopes, partners }));
    }),
  );

  app.post(
    '/admin/clients/:id',
    pageConfig,
    action(async (request, reply, who, form) => {
      const client = await clientOf(request, reply);
      if (!client) return reply;
      const { input, values, errors, allowNewLegacy } = clientInputFromForm(form, false);
      values.isPublic = client.isPublic;
      const again = async (fieldErrors: FieldErrors) => {
        const [scopes, partners] = await Promise.all([store.listScopes(), store.listPartners()]);
        return send(reply, clientFormPage({ frame: who.frame, client, values, errors: fieldErrors, scopes, partners }), 400);
      };
      if (Object.keys(errors).length > 0) return again(errors);
      try {
        await changeClient(store, client.id, input, clock.now(), { by: who.by, allowNewLegacy });
      } catch (error) {
        if (error instanceof ValidationError) return again(Object.keys(error.fields).length > 0 ? error.fields : { name: error.message });
        throw error;
      }
      return reply.redirect(`/admin/clients/${client.id}?done=updated`, 303);
    }),
  );

  app.get(
    '/admin/clients/:id/destroy',
    pageConfig,
    view(async (request, reply, who) => {
      const client = await clientOf(request, reply);
      if (!client) return reply;
      const live = await store.admin.countLiveGrants([client.id]);
      return send(reply, destroyConfirmPage({ frame: who.frame, client, liveConnections: live.get(client.id) ?? 0 }));
    }),
  );

  app.post(
    '/admin/clients/:id/destroy',
    pageConfig,
    action(async (request, reply, who) => {
      const client = await clientOf(request, reply);
      if (!client) return reply;
      await destroyClient(store, client.id, clock.now(), { by: who.by });
      return reply.redirect(`/admin/clients?destroyed=${client.id}`, 303);
    }),
  );

  app.post(
    '/admin/clients/:id/rotate-secret',
    pageConfig,
    action(async (request, reply, who, form) => {
      const client = await clientOf(request, reply);
      if (!client) return reply;
      const text = form.overlap_seconds ?? '';
      const overlap = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
      const now = clock.now();
      try {
        const secret = await rotateClientSecret(store, client.id, overlap, now, { by: who.by });
        return send(reply, secretRotatedPage({ frame: who.frame, client, secret, previousUntil: now + overlap * 1000, now }));
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        const [partner, connections, live, secrets] = await Promise.all([
          partnerById(client.partnerId),
          store.admin.listGrants({ clientId: client.id, includeRevoked: true, limit: PAGE_SIZE }),
          store.admin.countLiveGrants([client.id]),
          store.admin.activeClientSecrets(client.id, clock.now()),
        ]);
        return send(
          reply,
          clientDetailPage({
            frame: who.frame,
            client,
            partner,
            connections,
            liveConnections: live.get(client.id) ?? 0,
            secrets,
            defaultOverlapSeconds: ctx.config.secretRotationOverlapSeconds,
            error: error.message,
          }),
          400,
        );
      }
    }),
  );

  // ---- Connections --------------------------------------------------------------

  /** Back to the page the Revoke button was on (only our own admin pages). */
  function returnTo(form: Form, fallback: string): string {
    const target = form.return_to ?? '';
    return /^\/admin\/(clients|users|partners)\/[A-Za-z0-9_-]+$/.test(target) ? target : fallback;
  }

  app.post(
    '/admin/grants/:id/revoke',
    pageConfig,
    action(async (request, reply, who, form) => {
      const { id } = request.params as { id: string };
      if (!GRANT_ID.test(id)) return notFound(reply, 'Connection');
      try {
        const { grant } = await revokeConnection(store, id, clock.now(), { by: who.by, reason: form.reason });
        const back = returnTo(form, grant.userId ? `/admin/users/${grant.userId}` : `/admin/clients/${grant.clientId}`);
        return reply.redirect(`${back}?done=revoked`, 303);
      } catch (error) {
        if (error instanceof NotFoundError) return notFound(reply, 'Connection');
        throw error;
      }
    }),
  );

  // ---- Partners -------------------------------------------------------------------

  app.get(
    '/admin/partners',
    pageConfig,
    view(async (request, reply, who) => {
      const created = queryString(request, 'created');
      const partner = PARTNER_ID.test(created) ? await store.findPartner(created) : undefined;
      return send(reply, partnerListPage({ frame: who.frame, partners: await listPartners(store), notice: partner ? `Partner ${partner.name} was created.` : undefined }));
    }),
  );

  app.post(
    '/admin/partners',
    pageConfig,
    action(async (_request, reply, who, form) => {
      const values = { name: form.name ?? '', partnerPortalId: form.partner_portal_id ?? '' };
      try {
        const partner = await registerPartner(store, values, clock.now(), { by: who.by });
        return reply.redirect(`/admin/partners?created=${partner.id}`, 303);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        return send(reply, partnerListPage({ frame: who.frame, partners: await listPartners(store), values, errors: error.fields }), 400);
      }
    }),
  );

  async function showPartner(
    request: FastifyRequest,
    reply: FastifyReply,
    who: ConsoleAdmin,
    partner: Partner,
    extra: { values?: { name: string; partnerPortalId: string }; errors?: FieldErrors; status?: number } = {},
  ) {
    const now = clock.now();
    let rangeError: string | undefined;
    let report = await partnerReport(store, partner.id, {}, now);
    try {
      report = await partnerReport(store, partner.id, { from: queryString(request, 'from'), to: queryString(request, 'to') }, now);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      rangeError = `${error.message}. Showing the last twelve months.`;
    }
    const [detail, clients] = await Promise.all([
      partnerDetail(store, partner, report, PAGE_SIZE),
      searchClients(store, { partner: partner.partnerPortalId, limit: 500 }),
    ]);
    const notices: Record<string, string> = { updated: `${partner.name} was updated.`, revoked: 'The connection was revoked.' };
    return send(
      reply,
      partnerPage({
        frame: who.frame,
        partner,
        report,
        detail,
        clients: clients.clients,
        values: extra.values,
        errors: extra.errors,
        rangeError,
        notice: notices[queryString(request, 'done')],
      }),
      extra.status ?? (rangeError ? 400 : 200),
    );
  }

  async function partnerOf(request: FastifyRequest, reply: FastifyReply): Promise<Partner | undefined> {
    const { id } = request.params as { id: string };
    const partner = PARTNER_ID.test(id) ? await store.findPartner(id) : undefined;
    if (!partner) notFound(reply, 'Partner');
    return partner;
  }

  app.get(
    '/admin/partners/:id',
    pageConfig,
    view(async (request, reply, who) => {
      const partner = await partnerOf(request, reply);
      return partner ? showPartner(request, reply, who, partner) : reply;
    }),
  );

  app.post(
    '/admin/partners/:id',
    pageConfig,
    action(async (request, reply, who, form) => {
      const partner = await partnerOf(request, reply);
      if (!partner) return reply;
      const values = { name: form.name ?? '', partnerPortalId: form.partner_portal_id ?? '' };
      try {
        await changePartner(store, partner.id, values, clock.now(), { by: who.by });
        return reply.redirect(`/admin/partners/${partner.id}?done=updated`, 303);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        return showPartner(request, reply, who, partner, { values, errors: error.fields, status: 400 });
      }
    }),
  );

  app.get(
    '/admin/partners/:id/export.csv',
    pageConfig,
    view(async (request, reply) => {
      const partner = await partnerOf(request, reply);
      if (!partner) return reply;
      try {
        const { filename, body } = await partnerCsv(
          store,
          partner.id,
          queryString(request, 'kind') || 'monthly',
          { from: queryString(request, 'from'), to: queryString(request, 'to') },
          clock.now(),
        );
        return reply
          .header('cache-control', 'no-store')
          .header('content-disposition', `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`)
          .type('text/csv; charset=utf-8')
          .send(body);
      } catch (error) {
        if (error instanceof ValidationError) return sendErrorPage(reply, 400, 'This export cannot be made', error.message);
        throw error;
      }
    }),
  );

  // ---- Users --------------------------------------------------------------------------

  app.get(
    '/admin/users',
    pageConfig,
    view(async (request, reply, who) => {
      const q = queryString(request, 'q').slice(0, 200);
      const offset = offsetOf(request);
      const { users, total } = await searchUsers(store, { q, limit: PAGE_SIZE, offset });
      return send(reply, userListPage({ frame: who.frame, users, total, q, offset, limit: PAGE_SIZE }));
    }),
  );

  async function showUser(request: FastifyRequest, reply: FastifyReply, who: ConsoleAdmin, messages: { notice?: string; error?: string; status?: number } = {}) {
    const { id } = request.params as { id: string };
    if (!USER_ID.test(id)) return notFound(reply, 'User');
    let detail: Awaited<ReturnType<typeof userDetail>>;
    try {
      detail = await userDetail(store, id);
    } catch (error) {
      if (error instanceof NotFoundError) return notFound(reply, 'User');
      throw error;
    }
    const [about, by] = await Promise.all([store.admin.listAudit({ subject: id, limit: 20 }), store.admin.listAudit({ actor: id, limit: 20 })]);
    const events = [...new Map([...about, ...by].map((event) => [event.id, event])).values()].sort((a, b) => b.id - a.id).slice(0, 20);
    const notices: Record<string, string> = {
      locked: `${detail.user.email} is locked and signed out everywhere.`,
      unlocked: `${detail.user.email} may sign in again.`,
      revoked: 'The connection was revoked; the app can no longer use that account.',
    };
    return send(
      reply,
      userPage({
        frame: who.frame,
        detail,
        events,
        self: detail.user.id === who.user.id,
        notice: messages.notice ?? notices[queryString(request, 'done')],
        error: messages.error,
      }),
      messages.status ?? 200,
    );
  }

  app.get('/admin/users/:id', pageConfig, view(showUser));

  app.post(
    '/admin/users/:id/lock',
    pageConfig,
    action(async (request, reply, who, form) => {
      const { id } = request.params as { id: string };
      if (!USER_ID.test(id)) return notFound(reply, 'User');
      try {
        await lockUser(store, id, clock.now(), { by: who.by, revokeConnections: form.revoke_connections === 'on', reason: form.reason });
      } catch (error) {
        if (error instanceof NotFoundError) return notFound(reply, 'User');
        if (error instanceof ValidationError) return showUser(request, reply, who, { error: error.message, status: 400 });
        throw error;
      }
      return reply.redirect(`/admin/users/${id}?done=locked`, 303);
    }),
  );

  app.post(
    '/admin/users/:id/unlock',
    pageConfig,
    action(async (request, reply, who) => {
      const { id } = request.params as { id: string };
      if (!USER_ID.test(id)) return notFound(reply, 'User');
      try {
        await unlockUser(store, id, clock.now(), { by: who.by });
      } catch (error) {
        if (error instanceof NotFoundError) return notFound(reply, 'User');
        throw error;
      }
      return reply.redirect(`/admin/users/${id}?done=unlocked`, 303);
    }),
  );

  // ---- Audit log -----------------------------------------------------------------------

  /** Names for the ids an audit page shows: users by email, clients, partners and tokens by name. */
  async function namesFor(events: StoredAuditEvent[]): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    const ids = new Set(events.flatMap((event) => [event.actor, event.subject]).filter((id): id is string => id !== null));
    for (const id of ids) {
      if (id.startsWith('usr_')) {
        const user = await store.findUser(id);
        if (user) names.set(id, user.email);
      } else if (id.startsWith('lkc_')) {
        const client = await store.admin.findClientRecord(id);
        if (client) names.set(id, client.destroyedAt === null ? client.name : `${client.name} (destroyed)`);
      } else if (id.startsWith('ptn_')) {
        const partner = await store.findPartner(id);
        if (partner) names.set(id, partner.name);
      } else if (id.startsWith('adt_')) {
        const token = await store.admin.findAdminToken(id);
        if (token) names.set(id, `API token ${token.name}`);
      }
    }
    return names;
  }

  app.get(
    '/admin/audit',
    pageConfig,
    view(async (request, reply, who) => {
      const filter = {
        type: queryString(request, 'type'),
        actor: queryString(request, 'actor'),
        subject: queryString(request, 'subject'),
        from: queryString(request, 'from'),
        to: queryString(request, 'to'),
      };
      const types = await store.admin.auditTypes();
      try {
        const { events, nextBefore } = await listAuditEvents(store, { ...filter, before: queryString(request, 'before') });
        let olderHref: string | undefined;
        if (nextBefore !== null) {
          const params = new URLSearchParams(Object.entries(filter).filter(([, value]) => value !== ''));
          params.set('before', String(nextBefore));
          olderHref = `/admin/audit?${params}`;
        }
        return send(reply, auditPage({ frame: who.frame, events, names: await namesFor(events), types, filter, olderHref }));
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        return send(reply, auditPage({ frame: who.frame, events: [], names: new Map(), types, filter, errors: error.fields }), 400);
      }
    }),
  );

  // ---- Scopes -----------------------------------------------------------------------------

  app.get(
    '/admin/scopes',
    pageConfig,
    view(async (request, reply, who) => {
      const scopes = await listScopes(store);
      const edit = scopes.find((scope) => scope.name === queryString(request, 'edit'));
      const done = queryString(request, 'done');
      return send(
        reply,
        scopesPage({
          frame: who.frame,
          scopes,
          editing: edit !== undefined,
          values: edit ? { name: edit.name, description: edit.description, isDefault: edit.isDefault } : undefined,
          notice: done === 'saved' ? 'The scope was saved.' : done === 'deleted' ? 'The scope was deleted.' : undefined,
        }),
      );
    }),
  );

  app.post(
    '/admin/scopes',
    pageConfig,
    action(async (_request, reply, who, form) => {
      const values = { name: form.name ?? '', description: form.description ?? '', isDefault: form.default === 'on' };
      const existing = (await store.listScopes()).some((scope) => scope.name === values.name.trim());
      try {
        await setScope(store, values, clock.now(), { by: who.by });
        return reply.redirect('/admin/scopes?done=saved', 303);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        return send(reply, scopesPage({ frame: who.frame, scopes: await listScopes(store), values, editing: existing, errors: error.fields }), 400);
      }
    }),
  );

  app.post(
    '/admin/scopes/delete',
    pageConfig,
    action(async (_request, reply, who, form) => {
      try {
        await deleteScope(store, form.name ?? '', clock.now(), { by: who.by });
        return reply.redirect('/admin/scopes?done=deleted', 303);
      } catch (error) {
        if (error instanceof NotFoundError) return notFound(reply, 'Scope');
        if (!(error instanceof ValidationError)) throw error;
        return send(reply, scopesPage({ frame: who.frame, scopes: await listScopes(store), error: error.message }), 400);
      }
    }),
  );

  // ---- Admin API tokens ------------------------------------------------------------------

  async function ownerNames(tokens: Awaited<ReturnType<typeof listAdminTokens>>): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    for (const id of new Set(tokens.map((token) => token.createdBy).filter((id): id is string => id !== null))) {
      const user = await store.findUser(id);
      if (user) names.set(id, user.email);
    }
    return names;
  }

  async function showTokens(reply: FastifyReply, who: ConsoleAdmin, extra: Partial<Parameters<typeof tokensPage>[0]> = {}, status = 200) {
    const tokens = await listAdminTokens(store);
    return send(reply, tokensPage({ frame: who.frame, tokens, names: await ownerNames(tokens), now: clock.now(), ...extra }), status);
  }

  app.get(
    '/admin/tokens',
    pageConfig,
    view(async (request, reply, who) => showTokens(reply, who, { notice: queryString(request, 'done') === 'revoked' ? 'The token was revoked.' : undefined })),
  );

  app.post(
    '/admin/tokens',
    pageConfig,
    action(async (_request, reply, who, form) => {
      const values = { name: form.name ?? '', expiresInDays: (form.expires_in_days ?? '').trim() };
      const days = values.expiresInDays === '' ? null : /^\d{1,6}$/.test(values.expiresInDays) ? Number(values.expiresInDays) : Number.NaN;
      try {
        const created = await createAdminToken(store, { name: values.name, expiresInDays: days }, clock.now(), { by: who.by });
        // Shown in this response only.
        return showTokens(reply, who, { created }, 201);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        return showTokens(reply, who, { values, errors: error.fields }, 400);
      }
    }),
  );

  app.post(
    '/admin/tokens/:id/revoke',
    pageConfig,
    action(async (request, reply, who) => {
      const { id } = request.params as { id: string };
      if (!TOKEN_ID.test(id)) return notFound(reply, 'Token');
      try {
        await revokeAdminToken(store, id, clock.now(), { by: who.by });
      } catch (error) {
        if (error instanceof NotFoundError) return notFound(reply, 'Token');
        throw error;
      }
      return reply.redirect('/admin/tokens?done=revoked', 303);
    }),
  );

}
