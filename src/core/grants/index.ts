/** The grant registry: canonical grant_type -> handler. */
import { authorizationCodeGrant } from './authorization-code.js';
import { clientCredentialsGrant } from './client-credentials.js';
import { passwordGrant } from './password.js';
import { refreshTokenGrant } from './refresh-token.js';
import type { GrantHandler } from './types.js';

export type { GrantHandler, TokenRequestContext } from './types.js';

export const grantHandlers: ReadonlyMap<string, GrantHandler> = new Map(
  [authorizationCodeGrant, refreshTokenGrant, passwordGrant, clientCredentialsGrant].map((handler) => [handler.type, handler]),
);
