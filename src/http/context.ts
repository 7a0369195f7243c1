import type { Clock } from '../core/clock.js';
import type { LoginThrottle } from '../core/lockout.js';
import type { ProtocolSettings } from '../core/settings.js';
import type { Config } from '../config/schema.js';
import type { Preset } from '../config/presets/index.js';
import type { Store } from '../store/types.js';
import type { Brand } from '../views/layout.js';
import type { Metrics } from './metrics.js';
import type { ResourceGuard } from './resource-guard.js';
import type { Sessions } from './session.js';

/** What the routes share: configuration, the store and the clock. */
export interface AppContext {
  config: Config;
  preset: Preset;
  settings: ProtocolSettings;
  store: Store;
  clock: Clock;
  sessions: Sessions;
  /** Per-account and per-IP sign-in throttling with lockout (web sign-in, password grant). */
  throttle: LoginThrottle;
  /** The platform's name and logo on every page. */
  brand: Brand;
  /** Protects API routes with access tokens: `{ preHandler: ctx.guard({ scopes: ['read'] }) }` (README). */
  guard: ResourceGuard;
  /** Prometheus metrics (GET /metrics). */
  metrics: Metrics;
}

export type ErrorFormat = 'oauth' | 'page' | 'json';

declare module 'fastify' {
  interface FastifyInstance {
    /** The platform's name and logo, for pages rendered outside a route's context (error pages). */
    brand: Brand;
  }
  interface FastifyContextConfig {
    /** How errors on this route are rendered (default: json). */
    errorFormat?: ErrorFormat;
  }
}
