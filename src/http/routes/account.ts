/**
 * The signed-in user's own pages: /account shows the connected apps, per
 * account, each with a "Disconnect" button that revokes the grant and every
 * token issued from it at once.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Account, Client, Grant, Scope } from '../../core/model.js';
import type { Session } from '../../store/types.js';
import { type ConnectedApp, connectedAppsPage } from '../../views/pages.js';
import type { AppContext } from '../context.js';
import { sendErrorPage } from '../errors.js';
import { isFormParams } from '../form.js';
import { Sessions } from '../session.js';
import { sendPage } from './sign-in.js';

const GRANT_ID = /^grt_[A-Za-z0-9_-]{16}$/;

export function registerAccountRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { store, sessions, brand } = ctx;

  async function signedIn(request: FastifyRequest): Promise<{ session: Session; userId: string; email: string } | undefined> {
    const session = await sessions.current(request);
    const user = session?.userId ? await store.findUser(session.userId) : undefined;
    if (!session || !user || user.lockedAt !== null) return undefined;
    return { session, userId: user.id, email: user.email };
  }

  function describe(names: readonly string[], registry: readonly Scope[]): Scope[] {
    return names.map((name) => registry.find((scope) => scope.name === name) ?? { name, description: name, isDefault: false });
  }

  async function showApps(request: FastifyRequest, reply: FastifyReply) {
    const who = await signedIn(request);
    if (!who) return reply.redirect('/login', 303);
    const [accounts, grants, registry] = await Promise.all([
      store.listAccountsOfUser(who.userId),
      store.listGrantsOfUser(who.userId),
      store.listScopes(),
    ]);
    const clients = new Map<string, Client | undefined>();
    const partners = new Map<string, string | undefined>();
    for (const grant of grants) {
      if (!clients.has(grant.clientId)) clients.set(grant.clientId, await store.findClient(grant.clientId));
      const partnerId = clients.get(grant.clientId)?.partnerId;
      if (partnerId && !partners.has(partnerId)) partners.set(partnerId, (await store.findPartner(partnerId))?.name);
    }
    // Grants on an account the user has since left still belong to them: list those accounts too.
    const sectionAccounts: Account[] = [...accounts];
    for (const grant of grants) {
      if (!sectionAccounts.some((account) => account.id === grant.accountId)) {
        const account = await store.findAccount(grant.accountId);
        if (account) sectionAccounts.push(account);
      }
    }
    const appOf = (grant: Grant): ConnectedApp => {
      const client = clients.get(grant.clientId);
      return {
        grantId: grant.id,
        clientName: client?.name ?? 'An app that was removed',
        partnerName: client?.partnerId ? partners.get(client.partnerId) : undefined,
        scopes: describe(grant.scopes, registry),
        connectedAt: grant.createdAt,
        lastUsedAt: grant.lastUsedAt,
      };
    };
    const sections = sectionAccounts.map((account) => ({
      account,
      apps: grants.filter((grant) => grant.accountId === account.id).map(appOf),
    }));

    let notice: string | undefined;
    const { disconnected } = request.query as { disconnected?: unknown };
    if (typeof disconnected === 'string' && GRANT_ID.test(disconnected)) {
      const grant = await store.findGrant(disconnected);
      if (grant && grant.userId === who.userId && grant.revokedAt !== null) {
        const name = (await store.findClient(grant.clientId))?.name ?? 'The app';
        notice = `${name} was disconnected. It can no longer use your account.`;
      }
    }
    return sendPage(reply, connectedAppsPage({ csrfToken: who.session.csrfToken, email: who.email, sections, notice, brand }));
  }

  app.get('/account', { config: { errorFormat: 'page' } }, showApps);
  app.get('/account/apps', { config: { errorFormat: 'page' } }, showApps);
  app.get('/', async (_request, reply) => reply.redirect('/account', 303));

  app.post('/account/apps/:grantId/disconnect', { config: { errorFormat: 'page' } }, async (request, reply) => {
    const form = isFormParams(request.body) ? request.body.params : {};
    const session = await sessions.current(request);
    if (!Sessions.csrfValid(session, form.csrf_token)) {
      return sendErrorPage(reply, 403, 'This form has expired', 'Reload the page and try again.');
    }
    const who = await signedIn(request);
    if (!who) return reply.redirect('/login', 303);
    const { grantId } = request.params as { grantId: string };
    const grant = GRANT_ID.test(grantId) ? await store.findGrant(grantId) : undefined;
    // Someone else's grant looks exactly like one that does not exist.
    if (!grant || grant.userId !== who.userId) {
      return sendErrorPage(reply, 404, 'Connection not found', 'This app is not connected to your account. Reload the connected apps page.');
    }
    if (grant.revokedAt === null) {
      const now = ctx.clock.now();
      await store.revokeGrant(grant.id, now, 'disconnected by the user');
      await store.recordAudit(
        {
          type: 'grant.revoked',
          actor: who.userId,
          ip: request.ip,
          subject: grant.id,
          detail: { clientId: grant.clientId, accountId: grant.accountId, reason: 'user_disconnected' },
        },
        now,
      );
    }
    return reply.redirect(`/account/apps?disconnected=${grant.id}`, 303);
  });
}
