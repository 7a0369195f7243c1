import type { Clock } from '../core/clock.js';
import type { ProtocolSettings } from '../core/settings.js';
import type { Config } from '../config/schema.js';
import type { Preset } from '../config/presets/index.js';
import type { Store } from '../store/types.js';
import type { Sessions } from './session.js';

/** What the routes share: configuration, the store and the clock. */
export interface AppContext {
  config: Config;
  preset: Preset;
  settings: ProtocolSettings;
  store: Store;
  clock: Clock;
  sessions: Sessions;
}

export type ErrorFormat = 'oauth' | 'page' | 'json';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** How errors on this route are rendered (default: json). */
    errorFormat?: ErrorFormat;
  }
}
