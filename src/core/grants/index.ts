/** The grant registry: canonical grant_type -> handler. */
import { authorizationCodeGrant } from './authorization-code.js';
import { refreshTokenGrant } from './refresh-token.js';
import type { GrantHandler } from './types.js';

export type { GrantHandler, TokenRequestContext } from './types.js';

export const grantHandlers: ReadonlyMap<string, GrantHandler> = new Map(
  [authorizationCodeGrant, refreshTokenGrant].map((handler) => [handler.type, handler]),
);
