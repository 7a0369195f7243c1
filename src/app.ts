/** buildApp: the Fastify application, never listening (tests use inject). */
import cookie from '@fastify/cookie';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance } from 'fastify';
import { type Clock, systemClock } from './core/clock.js';
import { type AttemptCounter, LoginThrottle } from './core/lockout.js';
import type { ProtocolSettings } from './core/settings.js';
import { VerificationKeys } from './core/signing-keys.js';
import { accessTokenAudience } from './core/tokens.js';
import { presets } from './config/presets/index.js';
import type { Config } from './config/schema.js';
import type { AppContext } from './http/context.js';
import { registerErrorHandling } from './http/errors.js';
import { parseFormEncoded } from './http/form.js';
import { deferChildLoggers, loggerOptions, OneLinePerRequest } from './http/logging.js';
import { newRequestId } from './http/request-id.js';
import { createMetrics, type Metrics, registerMetrics } from './http/metrics.js';
import { registerAdminApi } from './http/admin/api.js';
import { registerAdminConsole } from './http/admin/console.js';
import { registerApiRoutes } from './http/routes/api.js';
import { registerPresetResourceRoutes } from './http/routes/preset-resources.js';
import { registerAccountRoutes } from './http/routes/account.js';
import { registerAuthorizeRoutes } from './http/routes/authorize.js';
import { registerDemoRoutes } from './http/routes/demo.js';
import { registerHealthRoutes } from './http/routes/health.js';
import { registerIntrospectionRoute } from './http/routes/introspect.js';
import { registerMetadataRoutes } from './http/routes/metadata.js';
import { registerRevocationRoute } from './http/routes/revoke.js';
import { registerSignInRoutes } from './http/routes/sign-in.js';
import { registerSignUpRoutes } from './http/routes/sign-up.js';
import { registerTokenRoutes } from './http/routes/token.js';
import { createResourceGuard } from './http/resource-guard.js';
import { logoOrigin, registerSecurityHeaders } from './http/security-headers.js';
import { registerNulGuard } from './http/nul-guard.js';
import { registerTurnCohort } from './http/turn-cohort.js';
import { Sessions } from './http/session.js';
import { scheduleKeyRotation } from './services/keys.js';
import { KyselyStore } from './store/kysely/store.js';
import { RedisAttemptCounter } from './store/redis-attempts.js';
import type { Store } from './store/types.js';
import type { Brand } from './views/layout.js';

export interface AppDependencies {
  config: Config;
  store: Store;
  clock?: Clock;
  /** false silences logs (tests); default: structured, redacted logs on stdout. */
  logger?: false;
  /**
   * Where sign-in attempts are counted. Default: Redis when config.redisUrl
   * is set (closed with the app), else the store's table.
   */
  attempts?: AttemptCounter;
  /** Where the structured logs go instead of stdout (tests read them back). */
  logStream?: NodeJS.WritableStream;
  /** Prometheus metrics; default: a fresh registry for this app. */
  metrics?: Metrics;
}

export function issuerOf(config: Config): string {
  return (config.issuer ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`).replace(/\/$/, '');
}

export function protocolSettings(config: Config): ProtocolSettings {
  const preset = presets[config.preset];
  if (!preset) throw new TypeError(`unknown preset ${config.preset}`);
  return {
    ...preset.protocol,
    issuer: issuerOf(config),
    codeTtlSeconds: config.codeTtlSeconds ?? preset.protocol.codeTtlSeconds,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds ?? preset.protocol.accessTokenTtlSeconds,
    refreshTokenTtlSeconds: config.refreshTokenTtlSeconds ?? preset.protocol.refreshTokenTtlSeconds,
    refreshReuseGraceSeconds: config.refreshReuseGraceSeconds ?? preset.protocol.refreshReuseGraceSeconds,
    accessTokenFormat: config.accessTokenFormat,
    accessTokenAudience: config.accessTokenAudience,
  };
}

export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const { config, store } = deps;
  const clock = deps.clock ?? systemClock;
  const preset = presets[config.preset];
  if (!preset) throw new TypeError(`unknown preset ${config.preset}`);
  const settings = protocolSettings(config);

  const app = Fastify({
    logger: deps.logger === false ? false : loggerOptions(config.logLevel, deps.logStream),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    genReqId: newRequestId,
    logController: new OneLinePerRequest(),
    requestIdHeader: false,
    // While draining (SIGTERM), a request that arrives on an open keep-alive connection
    // is still served, with "Connection: close", rather than refused with a 503.
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
  });
  // Each request's logger is made when it first logs (Fastify's null logger, when logging is off, has no children to defer).
  if (deps.logger !== false) deferChildLoggers(app.log);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, parseFormEncoded(body as string));
  });
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, body === '' ? undefined : JSON.parse(body as string));
    } catch {
      const error = Object.assign(new Error('invalid JSON'), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' });
      done(error, undefined);
    }
  });

  for (const scope of preset.scopes) await store.addScopeIfMissing(scope);

  const sessions = new Sessions({
    store,
    ttlSeconds: config.sessionTtlSeconds,
    secureCookies: settings.issuer.startsWith('https://'),
    now: () => clock.now(),
  });
  let attempts = deps.attempts;
  if (!attempts && config.redisUrl) {
    const redis = new RedisAttemptCounter(config.redisUrl, { now: () => clock.now() });
    app.addHook('onClose', () => redis.close());
    attempts = redis;
  }
  const throttle = new LoginThrottle({
    counter: attempts ?? store,
    audit: store,
    clock,
    policy: {
      accountThreshold: config.lockoutThreshold,
      ipThreshold: config.lockoutIpThreshold,
      windowSeconds: config.lockoutSeconds,
      lockoutSeconds: config.lockoutSeconds,
    },
  });
  const brand: Brand = { name: config.brandName, logoUrl: config.brandLogoUrl };
  app.decorate('brand', brand);
  // JWT access tokens are verified with the published keys held in memory: no database per request.
  const guard = createResourceGuard(app, {
    store,
    keys: new VerificationKeys(store, { now: () => clock.now() }),
    policy: preset.resource,
    issuer: settings.issuer,
    audience: accessTokenAudience(settings),
    clock,
    online: config.jwtOnlineCheck,
  });
  if (config.signingKeyRotationSeconds > 0) {
    let schedule: ReturnType<typeof scheduleKeyRotation> | undefined;
    app.addHook('onReady', async () => {
      schedule = scheduleKeyRotation({ store, clock, intervalSeconds: config.signingKeyRotationSeconds, log: app.log });
    });
    app.addHook('onClose', async () => schedule?.stop());
  }
  const metrics = deps.metrics ?? createMetrics();
  registerMetrics(app, metrics, { serve: config.metricsEnabled });
  // Security events (reuse, failed sign-ins, lockouts) are counted as the store records them.
  if (store instanceof KyselyStore) {
    const unsubscribe = store.onAudit((event) => metrics.observeAudit(event));
    app.addHook('onClose', async () => unsubscribe());
    metrics.watchPool(store);
  }
  const ctx: AppContext = { config, preset, settings, store, clock, sessions, throttle, brand, guard, metrics };

  const logo = logoOrigin(config.brandLogoUrl);
  registerTurnCohort(app);
  registerSecurityHeaders(app, { imageOrigins: logo ? [logo] : [] });
  registerErrorHandling(app);
  registerNulGuard(app);
  registerHealthRoutes(app, ctx);
  registerRevocationRoute(app, ctx);
  registerIntrospectionRoute(app, ctx);
  registerMetadataRoutes(app, ctx);
  registerApiRoutes(app, ctx);
  registerPresetResourceRoutes(app, ctx);
  registerDemoRoutes(app, ctx);
  registerAdminApi(app, ctx);
  // The plugins below add hooks that run on every request of their context, so each
  // is registered only where it is used (the hooks above, on the root, reach them all).
  await app.register(async (tokenRoutes) => {
    // Only presets that document multipart token requests (Go1's `curl --form`) parse it.
    if (preset.tokenEndpoints.some((endpoint) => endpoint.contentTypes.includes('multipart/form-data'))) {
      await tokenRoutes.register(multipart, {
        attachFieldsToBody: true,
        limits: { files: 0, fields: 50, parts: 50, fieldSize: config.bodyLimitBytes, headerPairs: 50 },
      });
    }
    registerTokenRoutes(tokenRoutes, ctx);
  });
  // Pages read and set cookies (the session, the return path); the API and token routes never do.
  await app.register(async (pages) => {
    await pages.register(cookie);
    registerAuthorizeRoutes(pages, ctx);
    registerSignInRoutes(pages, ctx);
    registerSignUpRoutes(pages, ctx);
    registerAccountRoutes(pages, ctx);
    registerAdminConsole(pages, ctx);
  });
  return app;
}
