/**
 * The authorization endpoint and the interaction that follows it: sign-in,
 * account choice and consent, then the redirect back with a code.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  AuthorizationRedirectError,
  approveAuthorization,
  consentRequired,
  errorRedirect,
  validateAuthorizationRequest,
} from '../../core/authorize.js';
import { AccessDenied, ConsentRequired, LoginRequired, type OAuthError, UntrustedAuthorizationRequest } from '../../core/errors.js';
import type { Account, Client } from '../../core/model.js';
import { newId } from '../../core/secrets.js';
import type { PendingAuthorization, Session } from '../../store/types.js';
import { chooseAccountPage, consentPage } from '../../views/pages.js';
import type { AppContext } from '../context.js';
import { sendErrorPage } from '../errors.js';
import { isFormParams, queryOf } from '../form.js';
import { Sessions } from '../session.js';

const INTERACTION_ID = /^int_[A-Za-z0-9_-]{16}$/;

export function interactionUrl(id: string): string {
  return `/interaction/${id}`;
}

export function isInteractionId(value: unknown): value is string {
  return typeof value === 'string' && INTERACTION_ID.test(value);
}

function html(reply: FastifyReply, body: string, status = 200): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(body);
}

function formField(body: unknown, name: string): string | undefined {
  return isFormParams(body) && !body.repeated.includes(name) ? body.params[name] : undefined;
}

export function registerAuthorizeRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { store, settings, sessions } = ctx;

  /** A redirect back to the client with an error (RFC 6749 §4.1.2.1). */
  const redirectError = (reply: FastifyReply, redirectUri: string, state: string | undefined, error: OAuthError) =>
    reply.redirect(errorRedirect(redirectUri, state, error, settings), 303);

  async function finish(reply: FastifyReply, pending: PendingAuthorization, userId: string, accountId: string, client: Client) {
    // Deleting first makes a double submit harmless: only one request gets a code.
    if (!(await store.deletePendingAuthorization(pending.id))) {
      return sendErrorPage(reply, 400, 'This request has already been completed', 'Go back to the application and start again.');
    }
    const { redirectTo } = await approveAuthorization(
      pending.request,
      { userId, accountId, partnerId: client.partnerId },
      { store, settings, now: ctx.clock.now() },
    );
    await store.recordAudit(
      { type: 'grant.approved', actor: userId, ip: reply.request.ip, subject: client.id, detail: { accountId, scopes: pending.request.scopes } },
      ctx.clock.now(),
    );
    return reply.redirect(redirectTo, 303);
  }

  /** Loads the interaction for this browser, or answers with an error page. */
  async function loadInteraction(request: FastifyRequest, reply: FastifyReply): Promise<{ pending: PendingAuthorization; session: Session; client: Client } | undefined> {
    const { id } = request.params as { id: string };
    const session = await sessions.current(request);
    const pending = isInteractionId(id) ? await store.findPendingAuthorization(id, ctx.clock.now()) : undefined;
    if (!pending || !session || pending.sessionHash !== session.idHash) {
      sendErrorPage(reply, 400, 'This sign-in link has expired', 'Go back to the application and start again.');
      return undefined;
    }
    const client = await store.findClient(pending.request.clientId);
    if (!client) {
      sendErrorPage(reply, 400, 'This application is no longer registered', 'Go back to the application.');
      return undefined;
    }
    return { pending, session, client };
  }

  /** Takes the user to the next step the interaction needs. */
  async function nextStep(reply: FastifyReply, pending: PendingAuthorization, session: Session, client: Client) {
    const needsLogin =
      !session.userId ||
      (pending.request.prompt.includes('login') && (session.authenticatedAt ?? 0) < pending.createdAt);
    const user = session.userId ? await store.findUser(session.userId) : undefined;
    if (needsLogin || !user || user.lockedAt !== null) {
      return reply.redirect(`/login?interaction=${pending.id}`, 303);
    }
    let accountId = pending.accountId;
    if (accountId === null) {
      const accounts = await store.listAccountsOfUser(user.id);
      const only = accounts.length === 1 ? accounts[0] : undefined;
      if (accounts.length === 0) {
        return sendErrorPage(reply, 403, 'No account to connect', 'Your user has no account that could be connected.');
      }
      if (!only || pending.request.prompt.includes('select_account')) {
        return html(reply, chooseAccountPage({ csrfToken: session.csrfToken, interaction: pending.id, client, accounts, signedInAs: user.email, brand: ctx.brand }));
      }
      accountId = only.id;
      await store.chooseAccount(pending.id, accountId);
    }
    const grant = await store.findActiveGrant(client.id, user.id, accountId);
    if (consentRequired(pending.request, client, grant)) return showConsent(reply, { pending, session, client, email: user.email, accountId });
    return finish(reply, pending, user.id, accountId, client);
  }

  /** The consent page for the chosen account, in the preset's style. */
  async function showConsent(
    reply: FastifyReply,
    input: { pending: PendingAuthorization; session: Session; client: Client; email: string; accountId: string; error?: string },
  ) {
    const { pending, session, client } = input;
    const [account, registry] = await Promise.all([store.findAccount(input.accountId), store.listScopes()]);
    if (!account) return reply.redirect(interactionUrl(pending.id), 303);
    const described = pending.request.scopes.map(
      (name) => registry.find((scope) => scope.name === name) ?? { name, description: name, isDefault: false },
    );
    const partnerName = client.partnerId ? (await store.findPartner(client.partnerId))?.name : undefined;
    return html(
      reply,
      consentPage({
        csrfToken: session.csrfToken,
        interaction: pending.id,
        client,
        partnerName,
        account,
        scopes: described,
        returnTo: URL.canParse(pending.request.redirectUri) ? new URL(pending.request.redirectUri).host : undefined,
        signedInAs: input.email,
        brand: ctx.brand,
        style: ctx.preset.consentStyle,
        error: input.error,
      }),
      input.error ? 400 : 200,
    );
  }

  for (const endpoint of ctx.preset.authorizeEndpoints) {
    app.get(endpoint.path, { config: { errorFormat: 'page' } }, async (request, reply) => {
      const { params, repeated } = queryOf(request.url);
      let validated: Awaited<ReturnType<typeof validateAuthorizationRequest>>;
      try {
        validated = await validateAuthorizationRequest(
          { params, repeated, extensionNames: endpoint.extensionParams },
          { store, settings, endpoint },
        );
      } catch (error) {
        if (error instanceof AuthorizationRedirectError) {
          request.log.info({ err: { type: error.oauthError.error, detail: error.oauthError.description } }, 'authorization request refused');
          return redirectError(reply, error.redirectUri, error.state, error.oauthError);
        }
        if (error instanceof UntrustedAuthorizationRequest) {
          request.log.info({ err: { detail: error.detail ?? error.description } }, 'untrusted authorization request');
          return sendErrorPage(reply, 400, 'This request cannot be completed', error.description);
        }
        throw error;
      }
      const { request: authorization, client } = validated;
      const now = ctx.clock.now();

      // OpenID Connect Core §3.1.2.1: prompt=none never shows a page.
      if (authorization.prompt.includes('none')) {
        const session = await sessions.current(request);
        if (!session?.userId) return redirectError(reply, authorization.redirectUri, authorization.state, new LoginRequired());
        const accounts = await store.listAccountsOfUser(session.userId);
        const only = accounts.length === 1 ? (accounts[0] as Account) : undefined;
        const grant = only && (await store.findActiveGrant(client.id, session.userId, only.id));
        if (!only || consentRequired(authorization, client, grant)) {
          return redirectError(reply, authorization.redirectUri, authorization.state, new ConsentRequired());
        }
        const { redirectTo } = await approveAuthorization(
          authorization,
          { userId: session.userId, accountId: only.id, partnerId: client.partnerId },
          { store, settings, now },
        );
        return reply.redirect(redirectTo, 303);
      }

      const session = await sessions.ensure(request, reply);
      const pending: PendingAuthorization = {
        id: newId('int_'),
        sessionHash: session.idHash,
        request: authorization,
        accountId: null,
        createdAt: now,
        expiresAt: now + ctx.config.interactionTtlSeconds * 1000,
      };
      await store.savePendingAuthorization(pending);
      return nextStep(reply, pending, session, client);
    });
  }

  app.get('/interaction/:id', { config: { errorFormat: 'page' } }, async (request, reply) => {
    const loaded = await loadInteraction(request, reply);
    if (!loaded) return reply;
    return nextStep(reply, loaded.pending, loaded.session, loaded.client);
  });

  app.post('/interaction/:id/account', { config: { errorFormat: 'page' } }, async (request, reply) => {
    const loaded = await loadInteraction(request, reply);
    if (!loaded) return reply;
    const { pending, session, client } = loaded;
    if (!Sessions.csrfValid(session, formField(request.body, 'csrf_token'))) {
      return sendErrorPage(reply, 403, 'This form has expired', 'Reload the page and try again.');
    }
    if (!session.userId) return reply.redirect(`/login?interaction=${pending.id}`, 303);
    const chosen = formField(request.body, 'account_id');
    const accounts = await store.listAccountsOfUser(session.userId);
    if (!accounts.some((account) => account.id === chosen)) {
      const user = await store.findUser(session.userId);
      return html(
        reply,
        chooseAccountPage({ csrfToken: session.csrfToken, interaction: pending.id, client, accounts, signedInAs: user?.email ?? '', error: 'Choose one of your accounts.', brand: ctx.brand }),
        400,
      );
    }
    await store.chooseAccount(pending.id, chosen as string);
    return reply.redirect(interactionUrl(pending.id), 303);
  });

  app.post('/interaction/:id/consent', { config: { errorFormat: 'page' } }, async (request, reply) => {
    const loaded = await loadInteraction(request, reply);
    if (!loaded) return reply;
    const { pending, session, client } = loaded;
    if (!Sessions.csrfValid(session, formField(request.body, 'csrf_token'))) {
      return sendErrorPage(reply, 403, 'This form has expired', 'Reload the page and try again.');
    }
    if (!session.userId || pending.accountId === null) return reply.redirect(interactionUrl(pending.id), 303);
    const decision = formField(request.body, 'decision');
    // GoCD: "Check the check box and submit." Without the tick, nothing is approved.
    if (decision === 'allow' && ctx.preset.consentStyle === 'checkbox' && formField(request.body, 'approve') !== 'yes') {
      const user = await store.findUser(session.userId);
      return showConsent(reply, {
        pending, session, client, email: user?.email ?? '', accountId: pending.accountId,
        error: `Tick the box to authorize ${client.name}, or choose Deny.`,
      });
    }
    if (decision === 'allow') return finish(reply, pending, session.userId, pending.accountId, client);
    if (decision !== 'deny') return sendErrorPage(reply, 400, 'Choose Allow or Deny', 'Reload the page and try again.');
    if (!(await store.deletePendingAuthorization(pending.id))) {
      return sendErrorPage(reply, 400, 'This request has already been completed', 'Go back to the application and start again.');
    }
    const { redirectUri, state } = pending.request;
    return redirectError(reply, redirectUri, state, new AccessDenied('The user denied the request.'));
  });
}
