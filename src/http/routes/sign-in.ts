/** Sign-in and sign-out. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { minutesUntil } from '../../core/lockout.js';
import { verifyPassword } from '../../core/passwords.js';
import { signInPage } from '../../views/pages.js';
import type { AppContext } from '../context.js';
import { sendErrorPage } from '../errors.js';
import { isFormParams } from '../form.js';
import { takeReturnTo } from '../return-to.js';
import { Sessions } from '../session.js';
import { interactionUrl, isInteractionId } from './authorize.js';

/** The same words for an unknown email and a wrong password: nothing tells which emails exist. */
export const WRONG_CREDENTIALS = 'Incorrect email or password.';

export function lockedMessage(until: number, now: number): string {
  const minutes = minutesUntil(until, now);
  return `Too many failed attempts. For your security, sign-in is paused: try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
}

/** The name of the app an interaction is for, to say "to continue to ...". */
export async function clientNameFor(ctx: AppContext, interaction: string | undefined): Promise<string | undefined> {
  if (!isInteractionId(interaction)) return undefined;
  const pending = await ctx.store.findPendingAuthorization(interaction, ctx.clock.now());
  return pending ? (await ctx.store.findClient(pending.request.clientId))?.name : undefined;
}

/**
 * Runs a throttle call; when the shared counters (database or Redis) cannot
 * be reached, sign-in fails closed with a 503 page rather than skipping the limit.
 */
export async function throttled<T>(request: FastifyRequest, reply: FastifyReply, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    request.log.error({ err: { message: (error as Error).message } }, 'sign-in counters unavailable');
    reply.header('retry-after', '30');
    sendErrorPage(reply, 503, 'Sign-in is unavailable right now', 'Please try again in a minute.');
    return undefined;
  }
}

export function sendPage(reply: FastifyReply, body: string, status = 200): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(body);
}

export function registerSignInRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { store, sessions, brand } = ctx;

  app.get('/login', { config: { errorFormat: 'page' } }, async (request, reply) => {
    const { interaction } = request.query as { interaction?: unknown };
    const interactionId = isInteractionId(interaction) ? interaction : undefined;
    const current = await sessions.current(request);
    // Already signed in and not in a flow: nothing to do here.
    if (current?.userId && !interactionId) return reply.redirect('/account', 303);
    const session = current ?? (await sessions.ensure(request, reply));
    return sendPage(
      reply,
      signInPage({ csrfToken: session.csrfToken, interaction: interactionId, clientName: await clientNameFor(ctx, interactionId), brand }),
    );
  });

  app.post('/login', { config: { errorFormat: 'page' } }, async (request, reply) => {
    const form = isFormParams(request.body) ? request.body.params : {};
    const session = await sessions.current(request);
    if (!session || !Sessions.csrfValid(session, form.csrf_token)) {
      return sendErrorPage(reply, 403, 'This form has expired', 'Reload the sign-in page and try again.');
    }
    const interaction = isInteractionId(form.interaction) ? form.interaction : undefined;
    const email = (form.email ?? '').trim();
    const password = form.password ?? '';
    const again = async (status: number, error: string) =>
      sendPage(
        reply,
        signInPage({ csrfToken: session.csrfToken, interaction, email, error, clientName: await clientNameFor(ctx, interaction), brand }),
        status,
      );
    if (email === '' || password === '' || email.length > 254 || password.length > 1024) {
      return again(400, 'Enter your email and password.');
    }

    const user = await store.findUserByEmail(email);
    const outcome = await throttled(request, reply, () =>
      ctx.throttle.attempt({ login: email, ip: request.ip, userId: user?.id ?? null, channel: 'web' }, async () => {
        // verifyPassword runs argon2 even for an unknown email, so timing does not tell either.
        const valid = await verifyPassword(user?.passwordHash, password);
        return user && valid && user.lockedAt === null ? user : undefined;
      }),
    );
    if (!outcome) return reply;
    const now = ctx.clock.now();
    if (outcome.status === 'locked' || (outcome.status === 'failed' && outcome.lockedUntil !== undefined)) {
      const until = outcome.lockedUntil as number;
      reply.header('retry-after', String(Math.max(1, Math.ceil((until - now) / 1000))));
      return again(429, lockedMessage(until, now));
    }
    if (outcome.status === 'failed') return again(401, WRONG_CREDENTIALS);

    const signedIn = outcome.value;
    await sessions.start(request, reply, signedIn.id);
    await store.recordAudit({ type: 'signin.succeeded', actor: signedIn.id, ip: request.ip, subject: signedIn.id, detail: { channel: 'web' } }, now);
    // Only ever redirect to our own pages: no open redirect (takeReturnTo only gives back admin console paths).
    return reply.redirect(interaction ? interactionUrl(interaction) : (takeReturnTo(request, reply) ?? '/account'), 303);
  });

  app.post('/logout', { config: { errorFormat: 'page' } }, async (request, reply) => {
    const form = isFormParams(request.body) ? request.body.params : {};
    const session = await sessions.current(request);
    if (!Sessions.csrfValid(session, form.csrf_token)) {
      return sendErrorPage(reply, 403, 'This form has expired', 'Reload the page and try again.');
    }
    await sessions.end(request, reply);
    return reply.redirect('/login', 303);
  });
}
