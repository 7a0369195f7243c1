/** Liveness, readiness and the stylesheet. */
import type { FastifyInstance } from 'fastify';
import { STYLESHEET } from '../../views/stylesheet.js';
import { KyselyStore } from '../../store/kysely/store.js';
import { pendingMigrations } from '../../store/open.js';
import type { AppContext } from '../context.js';

export function registerHealthRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  // Ready: the database answers and its schema is the one this code expects. Once
  // the migrations are seen current they stay so (only a newer release adds some).
  let migrated = !(ctx.store instanceof KyselyStore);
  app.get('/readyz', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    try {
      if (!migrated && ctx.store instanceof KyselyStore) {
        const pending = await pendingMigrations(ctx.store);
        if (pending.length > 0) return reply.code(503).send({ status: 'unavailable', database: 'ok', migrations: 'pending', pending });
        migrated = true;
      }
      await ctx.store.ping();
      return { status: 'ready', database: 'ok', migrations: 'current' };
    } catch (error) {
      request.log.warn({ err: error }, 'database not reachable');
      return reply.code(503).send({ status: 'unavailable', database: 'unreachable' });
    }
  });

  app.get('/assets/latchkey.css', async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=3600').type('text/css; charset=utf-8').send(STYLESHEET),
  );
}
