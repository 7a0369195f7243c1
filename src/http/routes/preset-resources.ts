/**
 * Routes a preset's document shows besides the protocol endpoints: sample
 * protected resources (GoCD's /go/gadgets, 401GO's /api/example-endpoint) and
 * 401GO's "connection success" confirmation.
 */
import type { FastifyInstance } from 'fastify';
import { InvalidRequest, OAuthError } from '../../core/errors.js';
import type { AppContext } from '../context.js';
import { isFormParams } from '../form.js';
import { principalOf } from '../resource-guard.js';
import { describePrincipal } from './api.js';

export function registerPresetResourceRoutes(app: FastifyInstance, ctx: AppContext): void {
  for (const path of ctx.preset.sampleResources) {
    app.get(path, { config: { errorFormat: 'json' }, preHandler: ctx.guard({ load: true }) }, describePrincipal);
  }

  const confirmPath = ctx.preset.connectionSuccessPath;
  if (confirmPath) {
    // 401GO: "Make a POST request to the connection success endpoint with your
    // client_id in the request body (form data, not JSON)", with the access token as Bearer.
    app.post(confirmPath, { config: { errorFormat: 'json' }, preHandler: ctx.guard() }, async (request, reply) => {
      if (!isFormParams(request.body)) {
        throw new OAuthError('invalid_request', 415, 'Send client_id as form data (application/x-www-form-urlencoded), not JSON.');
      }
      const { params, repeated } = request.body;
      if (repeated.length > 0) throw new InvalidRequest(`The request repeats ${repeated.join(', ')}.`);
      const principal = principalOf(request);
      if (!params.client_id) throw new InvalidRequest('The client_id parameter is required.');
      if (params.client_id !== principal.clientId) throw new InvalidRequest('The access token was not issued to this client_id.');
      if (principal.userId === null || principal.accountId === null) {
        throw new InvalidRequest('A client credentials token confirms no connection.');
      }
      const grant = await ctx.store.findActiveGrant(principal.clientId, principal.userId, principal.accountId);
      if (!grant) throw new InvalidRequest('The connection no longer exists.');
      await ctx.store.confirmGrant(grant.id, ctx.clock.now());
      await ctx.store.recordAudit(
        { type: 'grant.confirmed', actor: principal.clientId, ip: request.ip, subject: grant.id, detail: { accountId: grant.accountId } },
        ctx.clock.now(),
      );
      return reply.header('cache-control', 'no-store').send({ status: 'connected', client_id: principal.clientId, account_id: grant.accountId });
    });
  }
}
