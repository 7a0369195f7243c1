/** docs/configuration.md, generated from the settings schema (`latchkey config docs`). */
import { z } from 'zod';
import { configSchema, DEFAULT_CONFIG_FILE, ENV_VARS, SECRET_SETTINGS } from './schema.js';

interface JsonSchema {
  type?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  format?: string;
  description?: string;
}

function typeOf(schema: JsonSchema): string {
  if (schema.anyOf?.some((option) => option.type === 'boolean')) return 'boolean';
  if (schema.enum) return schema.enum.map((value) => `\`${String(value)}\``).join(', ');
  if (schema.type === 'integer') {
    const range = schema.minimum !== undefined && schema.maximum !== undefined ? ` ${schema.minimum}–${schema.maximum}` : schema.minimum !== undefined ? ` ≥ ${schema.minimum}` : '';
    return `integer${range}`;
  }
  if (schema.format === 'uri') return 'URL';
  return schema.type ?? 'string';
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

export function configurationDocs(): string {
  const json = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, JsonSchema> };
  const defaults = configSchema.parse({}) as Record<string, unknown>;
  const rows = Object.keys(configSchema.shape).map((key) => {
    const schema = json.properties[key] ?? {};
    const variables = Object.entries(ENV_VARS)
      .filter(([, setting]) => setting === key)
      .map(([variable]) => variable)
      .sort((a, b) => Number(b.startsWith('LATCHKEY_')) - Number(a.startsWith('LATCHKEY_')));
    const flag = `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
    const fallback = defaults[key];
    return `| \`${key}\` | ${variables.map((name) => `\`${name}\``).join(', ')} | \`${flag}\` | ${cell(typeOf(schema))} | ${fallback === undefined ? '(unset)' : `\`${String(fallback)}\``} | ${cell(schema.description ?? '')} |`;
  });
  return [
    '# Configuration',
    '',
    '<!-- Generated from src/config/schema.ts by `latchkey config docs > docs/configuration.md`; do not edit by hand. -->',
    '',
    `Every setting can be given in a JSON config file (\`${DEFAULT_CONFIG_FILE}\` in the working directory, or \`--config PATH\`),`,
    'overridden by an environment variable, overridden by a command-line flag. An invalid value, or an unknown key',
    'in the file, stops start-up with a one-line message naming the setting. `latchkey config check [--config PATH] [--json]`',
    `validates the configuration and prints the effective settings, with the passwords in ${SECRET_SETTINGS.map((key) => `\`${key}\``).join(' and ')} masked.`,
    '',
    '`latchkey serve` accepts every flag below; the store commands (`migrate`, `clients`, ...) accept `--config`, `--database-url` and `--data-dir`.',
    'When both a short and a `LATCHKEY_*` variable are set, the `LATCHKEY_*` one wins. Booleans accept `true`/`false`, `1`/`0`, `yes`/`no`.',
    '',
    '| setting | environment | flag | type | default | description |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    'Example `latchkey.config.json`:',
    '',
    '```json',
    JSON.stringify(
      {
        issuer: 'https://auth.example.com',
        host: '0.0.0.0',
        port: 3000,
        trustProxy: true,
        databaseUrl: 'postgres://latchkey:PASSWORD@db.internal/latchkey',
        redisUrl: 'redis://redis.internal:6379',
        shutdownGraceSeconds: 25,
      },
      null,
      2,
    ),
    '```',
    '',
  ].join('\n');
}
