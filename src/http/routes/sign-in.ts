/** Sign-in, sign-out and the signed-in landing page. */
import type { FastifyInstance } from 'fastify';
import { verifyPassword } from '../../core/passwords.js';
import { accountHomePage, signInPage } from '../../views/pages.js';
import type { AppContext } from '../context.js';
import { sendErrorPage } from '../errors.js';
import { isFormParams } from '../form.js';
import { Sessions } from '../session.js';
import { interactionUrl, isInteractionId } from './authorize.js';

const WRONG_CREDENTIALS = 'Incorrect email or password.';

export function registerSignInRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { store, sessions } = ctx;

  async function clientNameFor(interaction: string | undefined): Promise<string | undefined> {
    if (!isInteractionId(interaction)) return undefined;
    const pending = await store.findPendingAuthorization(interaction, ctx.clock.now());
    return pending ? (await store.findClient(pending.request.clientId))?.name : undefined;
  }

  app.get('/login', { config: { errorFormat: 'page' } }, async (request, reply) => {
    const { interaction } = request.query as { interaction?: unknown };
    const session = await sessions.ensure(request, reply);
    const interactionId = isInteractionId(interaction) ? interaction : undefined;
    return reply
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(signInPage({ csrfToken: session.csrfToken, interaction: interactionId, clientName: await clientNameFor(interactionId) }));
  });

  app.post('/login', { config: { errorFormat: 'page' } }, async (request, reply) => {
    const form = isFormParams(request.body) ? request.body.params : {};
    const session = await sessions.current(request);
    if (!Sessions.csrfValid(session, form.csrf_token)) {
      return sendErrorPage(reply, 403, 'This form has expired', 'Reload the sign-in page and try again.');
    }
    const interaction = isInteractionId(form.interaction) ? form.interaction : undefined;
    const email = (form.email ?? '').trim();
    const password = form.password ?? '';
    const user = email ? await store.findUserByEmail(email) : undefined;
    const valid = await verifyPassword(user?.passwordHash, password);
    if (!user || !valid || user.lockedAt !== null) {
      await store.recordAudit(
        { type: 'signin.failed', actor: null, ip: request.ip, subject: user?.id ?? null, detail: {} },
        ctx.clock.now(),
      );
      return reply
        .code(401)
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(
          signInPage({
            csrfToken: (session as NonNullable<typeof session>).csrfToken,
            interaction,
            email,
            error: WRONG_CREDENTIALS,
            clientName: await clientNameFor(interaction),
          }),
        );
    }
    await sessions.start(request, reply, user.id);
    await store.recordAudit({ type: 'signin.succeeded', actor: user.id, ip: request.ip, subject: user.id, detail: {} }, ctx.clock.now());
    // Only ever redirect to our own interaction page: no open redirect.
    return reply.redirect(interaction ? interactionUrl(interaction) : '/account', 303);
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

  app.get('/account', { config: { errorFormat: 'page' } }, async (request, reply) => {
    const session = await sessions.current(request);
    const user = session?.userId ? await store.findUser(session.userId) : undefined;
    if (!session || !user) return reply.redirect('/login', 303);
    const accounts = await store.listAccountsOfUser(user.id);
    return reply
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(accountHomePage({ csrfToken: session.csrfToken, email: user.email, accounts }));
  });

  app.get('/', async (_request, reply) => reply.redirect('/account', 303));
}
