import type { TokenResponseShape } from '../../core/settings.js';
import { defaultPreset } from './default.js';
import type { Preset } from './types.js';

/** The account fields both GoTo proxies return with a token. */
const ACCOUNT_FIELDS: TokenResponseShape['subjectFields'] = {
  organizer_key: 'user.id',
  account_key: 'account.id',
  account_type: 'account.kind',
  firstName: 'user.firstName',
  lastName: 'user.lastName',
  email: 'user.email',
};

/**
 * GoTo, "OAuth migration guide" (seeds/001_7bea80a11e88f3c7.txt): both proxies
 * at once, as during a migration. A code is redeemable only on the proxy that
 * issued it (its channel); a refresh token works on either, so partners can
 * move connected customers to v2 without reconnecting them.
 */
export const gotoPreset: Preset = {
  name: 'goto',
  description: 'GoTo legacy proxy (/oauth/) beside the RFC 6749 v2 proxy (/oauth/v2/)',
  protocol: { ...defaultPreset.protocol },
  authorizeEndpoints: [
    // "Opening the URL .../oauth/authorize?client_id={consumerKey} ... was already sufficient to start the Authentication Flow."
    { path: '/oauth/authorize', channel: 'goto-legacy', responseTypeRequired: false, extensionParams: [] },
    // "The additional response_type=code parameter is required"
    { path: '/oauth/v2/authorize', channel: 'goto-v2', responseTypeRequired: true, extensionParams: [] },
  ],
  tokenEndpoints: [
    {
      // "Making a GET or POST request to .../oauth/access_token with the parameters or POST data
      //  grant_type={authorization_code|password|refresh_token}&client_id={consumerKey}&..."
      path: '/oauth/access_token',
      channel: 'goto-legacy',
      methods: ['GET', 'POST'],
      // The legacy calls were sent with "Content-Type: application/json".
      contentTypes: ['application/x-www-form-urlencoded', 'application/json'],
      queryParams: true,
      clientAuthMethods: ['none', 'client_secret_post', 'client_secret_basic'],
      clientIdentificationOnly: true,
      grantTypes: { authorization_code: 'authorization_code', refresh_token: 'refresh_token', password: 'password' },
      passwordUsernameParam: 'user_id',
      response: {
        expiresIn: 'string',
        tokenType: false,
        scope: false,
        subjectFields: ACCOUNT_FIELDS,
        constants: { platform: 'GLOBAL', version: '2' },
      },
    },
    {
      // "Only POST is supported and no GET"; "Content-Type: application/x-www-form-urlencoded";
      // the client "has to be given as base64 encoded Authorization header".
      path: '/oauth/v2/token',
      channel: 'goto-v2',
      methods: ['POST'],
      contentTypes: ['application/x-www-form-urlencoded'],
      queryParams: false,
      clientAuthMethods: ['client_secret_basic'],
      grantTypes: { authorization_code: 'authorization_code', refresh_token: 'refresh_token', password: 'password' },
      // "The user_id parameter changed to username."
      passwordUsernameParam: 'username',
      // "The expires_in parameter will be set to 3600 seconds."
      accessTokenTtlSeconds: 3600,
      response: { expiresIn: 'number', tokenType: true, scope: false, subjectFields: ACCOUNT_FIELDS, constants: { version: '3' } },
    },
  ],
  scopes: [],
  resource: { schemes: ['bearer'], formBodyToken: false, queryToken: false },
  sampleResources: [],
  consentStyle: 'buttons',
};
