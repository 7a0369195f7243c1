/** Every server setting, validated in one place. */
import { z } from 'zod';
import { presetNames } from './presets/index.js';

const port = z.coerce.number().int().min(0).max(65535);
const seconds = z.coerce.number().int().positive();
/** A boolean that also accepts the strings an environment variable carries. */
const flag = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((value) => value === true || value === 'true' || value === '1' || value === 'yes');

export const configSchema = z.object({
  port: port.default(3000),
  host: z.string().min(1).default('127.0.0.1'),
  /** Public base URL; defaults to http://host:port. */
  issuer: z.url({ protocol: /^https?$/ }).optional(),
  preset: z
    .string()
    .refine((name) => presetNames().includes(name), { message: `must be one of: ${presetNames().join(', ')}` })
    .default('default'),
  dataDir: z.string().min(1).default('data'),
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Trust X-Forwarded-* from a reverse proxy. */
  trustProxy: flag.default(false),
  sessionTtlSeconds: seconds.default(8 * 3600),
  /** How long a started authorization may wait for the user. */
  interactionTtlSeconds: seconds.default(15 * 60),
  /** Largest accepted request body. */
  bodyLimitBytes: z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(64 * 1024),
  /** Overlap during which a rotated client secret keeps working. */
  secretRotationOverlapSeconds: z.coerce.number().int().min(0).default(24 * 3600),
  codeTtlSeconds: seconds.optional(),
  accessTokenTtlSeconds: seconds.optional(),
  refreshTokenTtlSeconds: seconds.optional(),
  refreshReuseGraceSeconds: z.coerce.number().int().min(0).optional(),
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;

/** Environment variables that map to settings. */
export const ENV_VARS: Record<string, keyof Config> = {
  PORT: 'port',
  HOST: 'host',
  LATCHKEY_ISSUER: 'issuer',
  LATCHKEY_PRESET: 'preset',
  LATCHKEY_DATA_DIR: 'dataDir',
  DATABASE_URL: 'databaseUrl',
  LOG_LEVEL: 'logLevel',
  LATCHKEY_TRUST_PROXY: 'trustProxy',
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Validates settings from the environment, overridden by explicit values (flags). */
export function loadConfig(overrides: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const fromEnv: Record<string, string> = {};
  for (const [variable, key] of Object.entries(ENV_VARS)) {
    const value = env[variable];
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  const parsed = configSchema.safeParse({ ...fromEnv, ...defined });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`invalid setting ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
