/** buildApp: the Fastify application, never listening (tests use inject). */
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from './core/clock.js';
import type { ProtocolSettings } from './core/settings.js';
import { presets } from './config/presets/index.js';
import type { Config } from './config/schema.js';
import type { AppContext } from './http/context.js';
import { registerErrorHandling } from './http/errors.js';
import { parseFormEncoded } from './http/form.js';
import { loggerOptions } from './http/logging.js';
import { registerApiRoutes } from './http/routes/api.js';
import { registerAuthorizeRoutes } from './http/routes/authorize.js';
import { registerDemoRoutes } from './http/routes/demo.js';
import { registerHealthRoutes } from './http/routes/health.js';
import { registerSignInRoutes } from './http/routes/sign-in.js';
import { registerTokenRoutes } from './http/routes/token.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import { Sessions } from './http/session.js';
import type { Store } from './store/types.js';

export interface AppDependencies {
  config: Config;
  store: Store;
  clock?: Clock;
  /** false silences logs (tests); default: structured, redacted logs on stdout. */
  logger?: false;
  /** Where the structured logs go instead of stdout (tests read them back). */
  logStream?: NodeJS.WritableStream;
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
  };
}

export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const { config, store } = deps;
  const clock = deps.clock ?? systemClock;
  const preset = presets[config.preset];
  if (!preset) throw new TypeError(`unknown preset ${config.preset}`);
  const settings = protocolSettings(config);

  const app = Fastify({
    logger: deps.logger === false ? false : { ...loggerOptions(config.logLevel), ...(deps.logStream ? { stream: deps.logStream } : {}) },
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
  });

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

  await app.register(cookie);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  const sessions = new Sessions({
    store,
    ttlSeconds: config.sessionTtlSeconds,
    secureCookies: settings.issuer.startsWith('https://'),
    now: () => clock.now(),
  });
  const ctx: AppContext = { config, preset, settings, store, clock, sessions };

  registerSecurityHeaders(app);
  registerErrorHandling(app);
  registerHealthRoutes(app, ctx);
  registerAuthorizeRoutes(app, ctx);
  registerTokenRoutes(app, ctx);
  registerSignInRoutes(app, ctx);
  registerApiRoutes(app, ctx);
  registerDemoRoutes(app, ctx);
  return app;
}
