import { RFC6749_RESPONSE } from '../../core/settings.js';
import type { Preset } from './types.js';

/** The strict standard: RFC 6749 with the RFC 9700 security practice. */
export const defaultPreset: Preset = {
  name: 'default',
  description: 'RFC 6749 with the RFC 9700 security best current practice',
  protocol: {
    codeTtlSeconds: 60,
    accessTokenTtlSeconds: 3600,
    refreshTokenTtlSeconds: 30 * 24 * 3600,
    refreshReuseGraceSeconds: 0,
    pkce: { requiredFor: 'public', allowPlain: false },
  },
  authorizeEndpoints: [
    { path: '/oauth/authorize', channel: 'default', responseTypeRequired: true, extensionParams: [] },
  ],
  tokenEndpoints: [
    {
      path: '/oauth/token',
      channel: 'default',
      methods: ['POST'],
      contentTypes: ['application/x-www-form-urlencoded'],
      queryParams: false,
      clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
      grantTypes: {
        authorization_code: 'authorization_code',
        refresh_token: 'refresh_token',
        password: 'password',
        client_credentials: 'client_credentials',
      },
      response: RFC6749_RESPONSE,
    },
  ],
  // RFC 6750 §2.1 only: §5.3 "Don't pass bearer tokens in page URLs"; the body form is off too.
  resource: { schemes: ['bearer'], formBodyToken: false, queryToken: false },
  scopes: [],
  sampleResources: [],
  consentStyle: 'buttons',
};
