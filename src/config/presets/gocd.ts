import { defaultPreset } from './default.js';
import type { Preset } from './types.js';

/**
 * GoCD, "OAuth Overview" (seeds/002_913a5cf91eca199e.txt).
 * - /oauth/authorize with client_id, redirect_uri and response_type, all "(required)".
 * - "you should see a form asking you to authorize the client ... Check the check box and submit."
 * - POST /go/oauth/token with code, grant_type "authorization-code", client_id,
 *   client_secret and redirect_uri, all "(required)", "as form data".
 * - The response: access_token, expires_in, refresh_token (shown in Ruby hash
 *   syntax, a slip of the document: the wire format is JSON).
 * - Resource calls: Authorization: Token token="...".
 */
export const gocdPreset: Preset = {
  name: 'gocd',
  description: 'GoCD OAuth: /go/oauth/token, grant_type=authorization-code, Token token="..." resource calls',
  protocol: { ...defaultPreset.protocol },
  authorizeEndpoints: [
    { path: '/oauth/authorize', channel: 'gocd', responseTypeRequired: true, redirectUriRequired: true, extensionParams: [] },
  ],
  tokenEndpoints: [
    {
      path: '/go/oauth/token',
      channel: 'gocd',
      methods: ['POST'],
      contentTypes: ['application/x-www-form-urlencoded'],
      queryParams: false,
      clientAuthMethods: ['client_secret_post'],
      redirectUriRequired: true,
      grantTypes: {
        'authorization-code': 'authorization_code',
        authorization_code: 'authorization_code',
        'refresh-token': 'refresh_token',
        refresh_token: 'refresh_token',
      },
      response: { expiresIn: 'number', tokenType: false, scope: false, constants: {} },
    },
  ],
  scopes: [],
  resource: { schemes: ['token', 'bearer'], formBodyToken: false, queryToken: false },
  sampleResources: ['/go/gadgets'],
  consentStyle: 'checkbox',
};
