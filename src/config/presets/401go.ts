import type { Scope } from '../../core/model.js';
import { defaultPreset } from './default.js';
import type { Preset } from './types.js';

const KINDS = ['participant', 'company', 'advisor'] as const;

/** "Space-separated permissions (e.g., participant:read participant:write)", for each account kind. */
const SCOPES: Scope[] = KINDS.flatMap((kind) => [
  { name: `${kind}:read`, description: `Read your ${kind} account's data`, isDefault: false },
  { name: `${kind}:write`, description: `Change your ${kind} account's data`, isDefault: false },
]);

/**
 * 401GO, "Authentication" (seeds/003_ecefa0fffa91ca7d.txt).
 * - GET /api/o/authorize/ and POST /api/o/token/ (with the trailing slash).
 * - "If a user has multiple accounts (e.g., participant, company, advisor),
 *   they must select which account to grant access to before proceeding."
 * - "Access tokens are valid for 60 minutes." "Refresh tokens are valid for 30 days."
 * - "Confirm Successful Connection: Make a POST request to the connection
 *   success endpoint with your client_id in the request body (form data, not JSON)."
 */
export const fourOhOneGoPreset: Preset = {
  name: '401go',
  description: '401GO: /api/o/ endpoints with trailing slashes, per-kind scopes, connection success',
  protocol: { ...defaultPreset.protocol, accessTokenTtlSeconds: 3600, refreshTokenTtlSeconds: 30 * 24 * 3600 },
  authorizeEndpoints: [{ path: '/api/o/authorize/', channel: '401go', responseTypeRequired: true, extensionParams: [] }],
  tokenEndpoints: [
    {
      path: '/api/o/token/',
      channel: '401go',
      methods: ['POST'],
      contentTypes: ['application/x-www-form-urlencoded', 'multipart/form-data'],
      queryParams: false,
      clientAuthMethods: ['client_secret_post', 'client_secret_basic', 'none'],
      grantTypes: { authorization_code: 'authorization_code', refresh_token: 'refresh_token' },
      response: defaultPreset.tokenEndpoints[0]!.response,
    },
  ],
  scopes: SCOPES,
  resource: { schemes: ['bearer'], formBodyToken: false, queryToken: false },
  sampleResources: ['/api/example-endpoint'],
  connectionSuccessPath: '/api/o/connection-success/',
  consentStyle: 'buttons',
};
