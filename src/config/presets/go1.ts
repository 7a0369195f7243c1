import { RFC6749_RESPONSE } from '../../core/settings.js';
import { defaultPreset } from './default.js';
import type { Preset } from './types.js';

/**
 * Go1, "OAuth Connect flow" (seeds/000_d36d39ffaba9d75f.txt).
 * - "partner_portal_id, a unique identifier for Go1 Partners that will link all
 *   created customer portals to the partner for reporting and billing purposes"
 * - "make a POST request ... you will need the following form-data details"
 *   (the examples use curl --form, i.e. multipart/form-data)
 * - "This token is valid for up to 12 hours"; "the refresh token is a
 *   single-use token, and has an expiration of 90 days".
 * - The response: token_type, expires_in, access_token, refresh_token.
 */
export const go1Preset: Preset = {
  name: 'go1',
  description: 'Go1 OAuth Connect flow: partner_portal_id, multipart token requests, 12 h access tokens',
  protocol: {
    ...defaultPreset.protocol,
    accessTokenTtlSeconds: 12 * 3600,
    refreshTokenTtlSeconds: 90 * 24 * 3600,
  },
  authorizeEndpoints: [
    {
      path: '/oauth/authorize',
      channel: 'go1',
      responseTypeRequired: true,
      partnerParam: 'partner_portal_id',
      extensionParams: ['partner_portal_id'],
    },
  ],
  tokenEndpoints: [
    {
      path: '/oauth/token',
      channel: 'go1',
      methods: ['POST'],
      contentTypes: ['multipart/form-data', 'application/x-www-form-urlencoded'],
      queryParams: false,
      clientAuthMethods: ['client_secret_post', 'client_secret_basic', 'none'],
      grantTypes: { authorization_code: 'authorization_code', refresh_token: 'refresh_token' },
      response: { ...RFC6749_RESPONSE, scope: false },
    },
  ],
  scopes: [],
  resource: { schemes: ['bearer'], formBodyToken: false, queryToken: false },
  sampleResources: [],
  consentStyle: 'buttons',
};
