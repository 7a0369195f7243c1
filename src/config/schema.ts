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
  /** How often expired codes, tokens and sessions are swept (0 disables). */
  housekeepingIntervalSeconds: z.coerce.number().int().min(0).default(300),
  codeTtlSeconds: seconds.optional(),
  accessTokenTtlSeconds: seconds.optional(),
  refreshTokenTtlSeconds: seconds.optional(),
  refreshReuseGraceSeconds: z.coerce.number().int().min(0).optional(),
  /** Access tokens for clients that did not choose: opaque, or JWT (RFC 9068). */
  accessTokenFormat: z.enum(['opaque', 'jwt']).default('opaque'),
  /** The "aud" of JWT access tokens: the platform API's resource identifier (default: the issuer). */
  accessTokenAudience: z.url().optional(),
  /** Age at which the JWT signing key is replaced by a new one; 0 turns the schedule off. */
  signingKeyRotationSeconds: z.coerce.number().int().min(0).default(30 * 24 * 3600),
  /** The platform API's resource guard also checks JWT access tokens against the database (revocation). */
  jwtOnlineCheck: flag.default(false),
  /** Shares sign-in throttling counters through Redis instead of the database. */
  redisUrl: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** The platform's name, shown on every page. */
  brandName: z.string().trim().min(1).max(60).default('Latchkey'),
  /** The platform's logo: an http(s) URL (the CSP then allows its origin) or a path on this server. */
  brandLogoUrl: z
    .string()
    .refine((value) => /^\/(?!\/)[^\s]*$/.test(value) || /^https?:\/\/[^\s]+$/.test(value) && URL.canParse(value), {
      message: 'must be an http(s) URL or a path starting with /',
    })
    .optional(),
  /** Failed sign-ins on one account within lockoutSeconds that lock it for lockoutSeconds. */
  lockoutThreshold: z.coerce.number().int().min(1).max(1000).default(5),
  /** Failed sign-ins from one IP address within lockoutSeconds that lock it. */
  lockoutIpThreshold: z.coerce.number().int().min(1).max(100000).default(20),
  lockoutSeconds: seconds.default(15 * 60),
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
  LATCHKEY_ACCESS_TOKEN_FORMAT: 'accessTokenFormat',
  LATCHKEY_ACCESS_TOKEN_AUDIENCE: 'accessTokenAudience',
  LATCHKEY_SIGNING_KEY_ROTATION_SECONDS: 'signingKeyRotationSeconds',
  LATCHKEY_JWT_ONLINE_CHECK: 'jwtOnlineCheck',
  REDIS_URL: 'redisUrl',
  LATCHKEY_BRAND_NAME: 'brandName',
  LATCHKEY_BRAND_LOGO_URL: 'brandLogoUrl',
  LATCHKEY_LOCKOUT_THRESHOLD: 'lockoutThreshold',
  LATCHKEY_LOCKOUT_IP_THRESHOLD: 'lockoutIpThreshold',
  LATCHKEY_LOCKOUT_SECONDS: 'lockoutSeconds',
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
