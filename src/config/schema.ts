/** Every server setting, validated in one place. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { presetNames } from './presets/index.js';

const port = z.coerce.number().int().min(0).max(65535);
const seconds = z.coerce.number().int().positive();
/** A boolean that also accepts the strings an environment variable carries. */
const flag = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((value) => value === true || value === 'true' || value === '1' || value === 'yes');

export const configSchema = z
  .object({
    port: port.default(3000).describe('TCP port to listen on (0: any free port).'),
    host: z.string().min(1).default('127.0.0.1').describe('Interface to listen on (0.0.0.0 for every interface).'),
    issuer: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('Public base URL, the OAuth issuer (default http://HOST:PORT). With https:// the session cookie is __Host- and Secure.'),
    preset: z
      .string()
      .refine((name) => presetNames().includes(name), { message: `must be one of: ${presetNames().join(', ')}` })
      .default('default')
      .describe(`API preset: ${presetNames().join(', ')}.`),
    dataDir: z.string().min(1).default('data').describe('Directory of the SQLite database (used when databaseUrl is not set).'),
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional()
      .describe('PostgreSQL URL (postgres://user:password@host/db); SQLite under dataDir when unset. Secret: masked by `config check`.'),
    databasePoolSize: z.coerce.number().int().min(2).max(200).default(10).describe('PostgreSQL connections per instance (at least 2: start-up holds one for its lock).'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Log level of the structured (pino) logs.'),
    trustProxy: flag.default(false).describe('Trust X-Forwarded-For/-Proto from a reverse proxy or load balancer.'),
    sessionTtlSeconds: seconds.default(8 * 3600).describe('Lifetime of a sign-in session, seconds.'),
    interactionTtlSeconds: seconds.default(15 * 60).describe('How long a started authorization may wait for the user, seconds.'),
    bodyLimitBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(10 * 1024 * 1024)
      .default(64 * 1024)
      .describe('Largest accepted request body, bytes.'),
    secretRotationOverlapSeconds: z.coerce
      .number()
      .int()
      .min(0)
      .default(24 * 3600)
      .describe('Overlap during which a rotated client secret keeps working, seconds.'),
    housekeepingIntervalSeconds: z.coerce
      .number()
      .int()
      .min(0)
      .default(300)
      .describe('How often expired codes, tokens and sessions are swept, seconds (0 disables).'),
    shutdownGraceSeconds: z.coerce
      .number()
      .int()
      .min(0)
      .max(3600)
      .default(25)
      .describe('On SIGTERM, how long in-flight requests may take to finish before the process exits anyway, seconds.'),
    metricsEnabled: flag.default(true).describe('Serve Prometheus metrics at /metrics.'),
    codeTtlSeconds: seconds.optional().describe('Authorization code lifetime, seconds (default: the preset\'s).'),
    accessTokenTtlSeconds: seconds.optional().describe('Access token lifetime, seconds (default: the preset\'s).'),
    refreshTokenTtlSeconds: seconds.optional().describe('Refresh token lifetime, seconds (default: the preset\'s).'),
    refreshReuseGraceSeconds: z.coerce
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Window in which a just-rotated refresh token may be retried without counting as reuse (default: the preset\'s).'),
    accessTokenFormat: z.enum(['opaque', 'jwt']).default('opaque').describe('Access tokens for clients that did not choose: opaque, or JWT (RFC 9068).'),
    accessTokenAudience: z.url().optional().describe('The "aud" of JWT access tokens: the platform API\'s resource identifier (default: the issuer).'),
    signingKeyRotationSeconds: z.coerce
      .number()
      .int()
      .min(0)
      .default(30 * 24 * 3600)
      .describe('Age at which the JWT signing key is replaced by a new one, seconds (0 turns the schedule off).'),
    jwtOnlineCheck: flag.default(false).describe('The platform API\'s resource guard also checks JWT access tokens against the database (revocation).'),
    resourceGuardCacheSeconds: z.coerce
      .number()
      .min(0)
      .max(3600)
      .default(5)
      .describe(
        'How long the resource guard reuses a token\'s client, user and account once loaded, seconds (0: load them on every request). Changes made through this instance apply at once, and on PostgreSQL those of other instances and the CLI too (LISTEN/NOTIFY); on SQLite those of other processes within this time. Token validity is never cached.',
      ),
    clientCacheSeconds: z.coerce
      .number()
      .min(0)
      .max(3600)
      .default(30)
      .describe(
        'How long a client and its secrets (client authentication) and the scope registry (default scopes, consent) are reused once loaded, seconds (0: load them on every request). PostgreSQL: every change made through Latchkey (any instance, the CLI) empties every instance\'s cache as it commits (LISTEN/NOTIFY), and nothing is served while an instance is not listening; this bounds only changes written to the database by hand. SQLite: before serving from it, the server asks the file whether another connection (the CLI, the sqlite3 shell) has committed since, and empties it if so; every change applies to the next request.',
      ),
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .optional()
      .describe('Redis URL: shares sign-in throttling counters between instances instead of the database. Secret: masked by `config check`.'),
    brandName: z.string().trim().min(1).max(60).default('Latchkey').describe('The platform\'s name, shown on every page.'),
    brandLogoUrl: z
      .string()
      .refine((value) => /^\/(?!\/)[^\s]*$/.test(value) || (/^https?:\/\/[^\s]+$/.test(value) && URL.canParse(value)), {
        message: 'must be an http(s) URL or a path starting with /',
      })
      .optional()
      .describe('The platform\'s logo: an http(s) URL (the CSP then allows its origin) or a path on this server.'),
    lockoutThreshold: z.coerce
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(5)
      .describe('Failed sign-ins on one account within lockoutSeconds that lock it for lockoutSeconds.'),
    lockoutIpThreshold: z.coerce.number().int().min(1).max(100000).default(20).describe('Failed sign-ins from one IP address within lockoutSeconds that lock it.'),
    lockoutSeconds: seconds.default(15 * 60).describe('Counting window and lockout length for failed sign-ins, seconds.'),
    passwordGrantWhenCountersDown: z
      .enum(['closed', 'open'])
      .default('closed')
      .describe(
        'What the password grant does when the lockout counters (Redis or the database) cannot be reached: closed answers 503 temporarily_unavailable; open checks the password without the lockout. The sign-in page always fails closed.',
      ),
    sqliteSynchronous: z
      .enum(['full', 'normal'])
      .default('full')
      .describe(
        'SQLite durability: full syncs every commit (no issued token is lost on power failure); normal is faster but may lose the last commits on power failure (never on a process crash).',
      ),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;

/**
 * Environment variables that map to settings: every setting has a LATCHKEY_* name.
 * The conventional short names (PORT, HOST, DATABASE_URL, LOG_LEVEL, REDIS_URL) are
 * accepted too; when both are set the LATCHKEY_* one wins.
 */
export const ENV_VARS: Record<string, keyof Config> = {
  PORT: 'port',
  HOST: 'host',
  DATABASE_URL: 'databaseUrl',
  LOG_LEVEL: 'logLevel',
  REDIS_URL: 'redisUrl',
  LATCHKEY_PORT: 'port',
  LATCHKEY_HOST: 'host',
  LATCHKEY_ISSUER: 'issuer',
  LATCHKEY_PRESET: 'preset',
  LATCHKEY_DATA_DIR: 'dataDir',
  LATCHKEY_DATABASE_URL: 'databaseUrl',
  LATCHKEY_DATABASE_POOL_SIZE: 'databasePoolSize',
  LATCHKEY_LOG_LEVEL: 'logLevel',
  LATCHKEY_TRUST_PROXY: 'trustProxy',
  LATCHKEY_SESSION_TTL_SECONDS: 'sessionTtlSeconds',
  LATCHKEY_INTERACTION_TTL_SECONDS: 'interactionTtlSeconds',
  LATCHKEY_BODY_LIMIT_BYTES: 'bodyLimitBytes',
  LATCHKEY_SECRET_ROTATION_OVERLAP_SECONDS: 'secretRotationOverlapSeconds',
  LATCHKEY_HOUSEKEEPING_INTERVAL_SECONDS: 'housekeepingIntervalSeconds',
  LATCHKEY_SHUTDOWN_GRACE_SECONDS: 'shutdownGraceSeconds',
  LATCHKEY_METRICS_ENABLED: 'metricsEnabled',
  LATCHKEY_CODE_TTL_SECONDS: 'codeTtlSeconds',
  LATCHKEY_ACCESS_TOKEN_TTL_SECONDS: 'accessTokenTtlSeconds',
  LATCHKEY_REFRESH_TOKEN_TTL_SECONDS: 'refreshTokenTtlSeconds',
  LATCHKEY_REFRESH_REUSE_GRACE_SECONDS: 'refreshReuseGraceSeconds',
  LATCHKEY_ACCESS_TOKEN_FORMAT: 'accessTokenFormat',
  LATCHKEY_ACCESS_TOKEN_AUDIENCE: 'accessTokenAudience',
  LATCHKEY_SIGNING_KEY_ROTATION_SECONDS: 'signingKeyRotationSeconds',
  LATCHKEY_JWT_ONLINE_CHECK: 'jwtOnlineCheck',
  LATCHKEY_RESOURCE_GUARD_CACHE_SECONDS: 'resourceGuardCacheSeconds',
  LATCHKEY_CLIENT_CACHE_SECONDS: 'clientCacheSeconds',
  LATCHKEY_REDIS_URL: 'redisUrl',
  LATCHKEY_BRAND_NAME: 'brandName',
  LATCHKEY_BRAND_LOGO_URL: 'brandLogoUrl',
  LATCHKEY_LOCKOUT_THRESHOLD: 'lockoutThreshold',
  LATCHKEY_LOCKOUT_IP_THRESHOLD: 'lockoutIpThreshold',
  LATCHKEY_LOCKOUT_SECONDS: 'lockoutSeconds',
  LATCHKEY_PASSWORD_GRANT_WHEN_COUNTERS_DOWN: 'passwordGrantWhenCountersDown',
  LATCHKEY_SQLITE_SYNCHRONOUS: 'sqliteSynchronous',
};

/** The settings that hold credentials: `config check` masks their passwords. */
export const SECRET_SETTINGS: ReadonlyArray<keyof Config> = ['databaseUrl', 'redisUrl'];

/** The default config file, looked for in the working directory. */
export const DEFAULT_CONFIG_FILE = 'latchkey.config.json';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface ConfigSources {
  /**
   * A JSON config file. An explicit path must exist; when undefined,
   * `latchkey.config.json` in `cwd` is read if it exists; null reads no file.
   */
  file?: string | null | undefined;
  cwd?: string;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Reads a config file's settings (unvalidated), or undefined when the default file is absent. */
function readConfigFile(sources: ConfigSources): { path: string; values: Record<string, unknown> } | undefined {
  if (sources.file === null) return undefined;
  const explicit = sources.file !== undefined;
  const path = resolve(sources.cwd ?? process.cwd(), sources.file ?? DEFAULT_CONFIG_FILE);
  if (!explicit && !existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${oneLine((error as NodeJS.ErrnoException).code ?? String(error))}`);
  }
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${oneLine((error as Error).message)}`);
  }
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new ConfigError(`config file ${path} must hold one JSON object of settings`);
  }
  const known = new Set(Object.keys(configSchema.shape));
  for (const key of Object.keys(values)) {
    if (!known.has(key)) throw new ConfigError(`unknown setting ${key} in ${path}`);
  }
  return { path, values: values as Record<string, unknown> };
}

/** Where one setting's effective value came from. */
export type ConfigOrigin = 'default' | 'file' | 'env' | 'flag';

/**
 * Validates the settings: the config file, overridden by environment variables,
 * overridden by explicit values (flags). Throws a one-line ConfigError naming the setting.
 */
export function loadConfig(overrides: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env, sources: ConfigSources = { file: null }): Config {
  return resolveConfig(overrides, env, sources).config;
}

export function resolveConfig(
  overrides: ConfigInput = {},
  env: NodeJS.ProcessEnv = process.env,
  sources: ConfigSources = {},
): { config: Config; file: string | undefined; origins: Record<string, ConfigOrigin> } {
  const file = readConfigFile(sources);
  const origins: Record<string, ConfigOrigin> = {};
  const merged: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(file?.values ?? {})) {
    merged[key] = value;
    origins[key] = 'file';
  }
  // Short names first, so that a LATCHKEY_* name overrides them.
  const variables = Object.entries(ENV_VARS).sort(([a], [b]) => Number(a.startsWith('LATCHKEY_')) - Number(b.startsWith('LATCHKEY_')));
  for (const [variable, key] of variables) {
    const value = env[variable];
    if (value !== undefined && value !== '') {
      merged[key] = value;
      origins[key] = 'env';
    }
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    merged[key] = value;
    origins[key] = 'flag';
  }
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.code === 'unrecognized_keys') throw new ConfigError(`unknown setting ${issue.keys.join(', ')}`);
    const setting = issue?.path.join('.') ?? '';
    const from = origins[setting] === 'file' && file ? ` (in ${file.path})` : '';
    throw new ConfigError(`invalid setting ${setting}: ${oneLine(issue?.message ?? 'invalid')}${from}`);
  }
  for (const key of Object.keys(parsed.data)) origins[key] ??= 'default';
  return { config: parsed.data, file: file?.path, origins };
}

/** A URL with its password replaced, for printing. */
export function maskUrlPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '*****';
    return parsed.toString();
  } catch {
    return '*****';
  }
}

/** The configuration with every secret masked (what `config check` prints). */
export function maskedConfig(config: Config): Record<string, unknown> {
  const masked: Record<string, unknown> = { ...config };
  for (const key of SECRET_SETTINGS) {
    const value = config[key];
    if (typeof value === 'string') masked[key] = maskUrlPassword(value);
  }
  return masked;
}
