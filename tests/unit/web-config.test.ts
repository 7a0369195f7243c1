/** The web experience's settings: brand, Redis and lockout, from flags and the environment. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/schema.js';
import { contentSecurityPolicy, logoOrigin } from '../../src/http/security-headers.js';

describe('web settings', () => {
  test('defaults: the Latchkey name, no logo, no Redis, 5 failures per account, 20 per IP, 15 minutes', () => {
    const config = loadConfig({}, {});
    assert.equal(config.brandName, 'Latchkey');
    assert.equal(config.brandLogoUrl, undefined);
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.lockoutThreshold, 5);
    assert.equal(config.lockoutIpThreshold, 20);
    assert.equal(config.lockoutSeconds, 900);
  });

  test('each has its environment variable', () => {
    const config = loadConfig(
      {},
      {
        LATCHKEY_BRAND_NAME: '  Acme Cloud ',
        LATCHKEY_BRAND_LOGO_URL: 'https://cdn.acme.example/logo.svg',
        REDIS_URL: 'redis://cache.internal:6379/2',
        LATCHKEY_LOCKOUT_THRESHOLD: '3',
        LATCHKEY_LOCKOUT_IP_THRESHOLD: '50',
        LATCHKEY_LOCKOUT_SECONDS: '600',
      },
    );
    assert.equal(config.brandName, 'Acme Cloud');
    assert.equal(config.brandLogoUrl, 'https://cdn.acme.example/logo.svg');
    assert.equal(config.redisUrl, 'redis://cache.internal:6379/2');
    assert.equal(config.lockoutThreshold, 3);
    assert.equal(config.lockoutIpThreshold, 50);
    assert.equal(config.lockoutSeconds, 600);
    assert.equal(loadConfig({}, { REDIS_URL: 'rediss://secure.internal' }).redisUrl, 'rediss://secure.internal');
    assert.equal(loadConfig({}, { LATCHKEY_BRAND_LOGO_URL: '/assets/logo.png' }).brandLogoUrl, '/assets/logo.png');
  });

  test('bad values stop start-up with a one-line message naming the setting', () => {
    for (const [env, setting] of [
      [{ REDIS_URL: 'http://cache:6379' }, 'redisUrl'],
      [{ LATCHKEY_BRAND_NAME: '   ' }, 'brandName'],
      [{ LATCHKEY_BRAND_NAME: 'x'.repeat(61) }, 'brandName'],
      [{ LATCHKEY_BRAND_LOGO_URL: 'javascript:alert(1)' }, 'brandLogoUrl'],
      [{ LATCHKEY_BRAND_LOGO_URL: '//evil.example/logo.png' }, 'brandLogoUrl'],
      [{ LATCHKEY_BRAND_LOGO_URL: 'https://cdn.example/a b.png' }, 'brandLogoUrl'],
      [{ LATCHKEY_LOCKOUT_THRESHOLD: '0' }, 'lockoutThreshold'],
      [{ LATCHKEY_LOCKOUT_SECONDS: 'soon' }, 'lockoutSeconds'],
    ] as const) {
      assert.throws(
        () => loadConfig({}, env),
        (error: unknown) => error instanceof ConfigError && error.message.startsWith(`invalid setting ${setting}: `) && !error.message.includes('\n'),
        JSON.stringify(env),
      );
    }
  });

  test('the CSP allows a logo on another origin, and only that origin', () => {
    assert.equal(logoOrigin('https://cdn.acme.example/brand/logo.svg?v=2'), 'https://cdn.acme.example');
    assert.equal(logoOrigin('/assets/logo.png'), undefined);
    assert.equal(logoOrigin(undefined), undefined);
    assert.equal(
      contentSecurityPolicy(['https://cdn.acme.example']),
      "default-src 'none'; style-src 'self'; img-src 'self' https://cdn.acme.example; frame-ancestors 'none'; base-uri 'none'",
    );
  });
});
