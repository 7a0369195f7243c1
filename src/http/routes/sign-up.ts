/**
 * Sign-up inside the flow: /signup?interaction=... creates a user and their
 * new account, signs them in (a fresh session id) and continues the
 * authorization where it stopped; without an interaction it lands on the
 * connected-apps page.
 */
import type { FastifyInstance } from 'fastify';
import { MIN_PASSWORD_LENGTH } from '../../core/passwords.js';
import { ValidationError } from '../../services/errors.js';
import { EmailTaken, type SignUpInput, signUp, validateSignUp } from '../../services/sign-up.js';
import type { PendingAuthorization, Session } from '../../store/types.js';
import { signUpPage } from '../../views/pages.js';
import type { AppContext } from '../context.js';
import { sendErrorPage } from '../errors.js';
import { isFormParams } from '../form.js';
import { Sessions } from '../session.js';
import { interactionUrl, isInteractionId } from './authorize.js';
import { clientNameFor, lockedMessage, sendPage, throttled } from './sign-in.js';

export function registerSignUpRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { store, sessions, brand } = ctx;

  /** The partner a new account is credited to: the one the authorization request named (Go1's partner_portal_id). */
  async function partnerOf(pending: PendingAuthorization | undefined): Promise<string | null> {
    if (!pending) return null;
    if (pending.request.partnerId) return pending.request.partnerId;
    const portalId = pending.request.extensions?.partner_portal_id;
    return portalId ? ((await store.findPartnerByPortalId(portalId))?.id ?? null) : null;
  }

  /** The interaction, if it is live and belongs to this browser. */
  async function pendingFor(session: Session, interaction: string | undefined): Promise<PendingAuthorization | undefined> {
    if (!interaction) return undefined;
    const pending = await store.findPendingAuthorization(interaction, ctx.clock.now());
    return pending && pending.sessionHash === session.idHash ? pending : undefined;
  }

  app.get('/signup', { config: { errorFormat: 'page' } }, async (request, reply) => {
    const { interaction } = request.query as { interaction?: unknown };
    const interactionId = isInteractionId(interaction) ? interaction : undefined;
    const session = await sessions.ensure(request, reply);
    return sendPage(
      reply,
      signUpPage({
        csrfToken: session.csrfToken,
        interaction: interactionId,
        clientName: await clientNameFor(ctx, interactionId),
        minPasswordLength: MIN_PASSWORD_LENGTH,
        brand,
      }),
    );
  });

  app.post('/signup', { config: { errorFormat: 'page' } }, async (request, reply) => {
    const form = isFormParams(request.body) ? request.body.params : {};
    const session = await sessions.current(request);
    if (!session || !Sessions.csrfValid(session, form.csrf_token)) {
      return sendErrorPage(reply, 403, 'This form has expired', 'Reload the sign-up page and try again.');
    }
    const interaction = isInteractionId(form.interaction) ? form.interaction : undefined;
    const input: SignUpInput = {
      firstName: form.first_name ?? '',
      lastName: form.last_name ?? '',
      email: form.email ?? '',
      password: form.password ?? '',
      accountName: form.account_name ?? '',
    };
    const again = async (status: number, problems: { errors?: ReturnType<typeof validateSignUp>; error?: string }) =>
      sendPage(
        reply,
        signUpPage({
          csrfToken: session.csrfToken,
          interaction,
          clientName: await clientNameFor(ctx, interaction),
          values: { first_name: input.firstName, last_name: input.lastName, email: input.email, account_name: input.accountName },
          minPasswordLength: MIN_PASSWORD_LENGTH,
          brand,
          ...problems,
        }),
        status,
      );

    const errors = validateSignUp(input);
    if (Object.keys(errors).length > 0) return again(400, { errors });
    const allowed = await throttled(request, reply, () => ctx.throttle.signUpAllowed(request.ip));
    if (!allowed) return reply;
    if (!allowed.allowed) {
      const now = ctx.clock.now();
      reply.header('retry-after', String(Math.max(1, Math.ceil((allowed.lockedUntil - now) / 1000))));
      return again(429, { error: lockedMessage(allowed.lockedUntil, now) });
    }

    const pending = await pendingFor(session, interaction);
    let created: Awaited<ReturnType<typeof signUp>>;
    try {
      created = await signUp(store, input, { partnerId: await partnerOf(pending), ip: request.ip }, ctx.clock.now());
    } catch (error) {
      if (error instanceof EmailTaken) {
        return again(409, { errors: { email: 'An account with this email already exists. Sign in instead.' } });
      }
      if (error instanceof ValidationError) return again(400, { error: error.message });
      throw error;
    }
    // A new session id for the new privilege level; the interaction moves with it.
    await sessions.start(request, reply, created.user.id);
    request.log.info({ userId: created.user.id, partnerId: created.account.partnerId }, 'user signed up');
    if (pending) {
      // The new account is the one being connected: no need to ask which.
      await store.chooseAccount(pending.id, created.account.id);
      return reply.redirect(interactionUrl(pending.id), 303);
    }
    return reply.redirect(interaction ? interactionUrl(interaction) : '/account/apps', 303);
  });
}
