/**
 * What the core reads from configuration. Presets fill these in; the core
 * never asks which preset is running.
 */
import type { AccessTokenFormat, ClientAuthMethod } from './model.js';
import type { PkcePolicy } from './pkce.js';

export interface ProtocolSettings {
  /** RFC 8414 issuer identifier, also sent as `iss` in authorization responses (RFC 9207). */
  issuer: string;
  codeTtlSeconds: number;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /**
   * Seconds after a rotation during which the retired refresh token may be
   * presented again without being treated as reuse (for clients whose
   * concurrent refreshes race). 0 means strict single use (RFC 9700 §4.14.2).
   */
  refreshReuseGraceSeconds: number;
  pkce: PkcePolicy;
  /** Access tokens for clients that chose no format (RFC 9068 JWT or opaque). Absent: opaque. */
  accessTokenFormat?: AccessTokenFormat;
  /** The "aud" of JWT access tokens (RFC 9068 §2.2): the platform API's resource identifier. Absent: the issuer. */
  accessTokenAudience?: string;
}

/** Facts about the user and account behind a grant that a response may carry. */
export type SubjectField = 'user.id' | 'user.email' | 'user.firstName' | 'user.lastName' | 'account.id' | 'account.name' | 'account.kind';

/** How a token response is written on the wire (RFC 6749 §5.1 by default). */
export interface TokenResponseShape {
  /** RFC 6749 says number; some legacy APIs send a string. */
  expiresIn: 'number' | 'string';
  tokenType: boolean;
  scope: boolean;
  /** Constant fields added to every response, e.g. { version: "3" }. */
  constants: Record<string, string>;
  /** Response field -> fact about the user or account, e.g. { email: 'user.email' }. */
  subjectFields?: Record<string, SubjectField>;
}

/** One token endpoint as a preset exposes it. */
export interface TokenEndpointSettings {
  /** Codes are bound to the channel of the authorize endpoint that issued them. */
  channel: string;
  clientAuthMethods: ClientAuthMethod[];
  /** Wire grant_type value -> canonical grant type handled by the core. */
  grantTypes: Record<string, string>;
  response: TokenResponseShape;
  /** Overrides the server's access-token lifetime on this endpoint. */
  accessTokenTtlSeconds?: number;
  /**
   * Confidential clients may identify themselves by client_id alone, as the
   * GoTo legacy proxy documents ("grant_type=authorization_code&code=...&client_id={consumerKey}").
   * A secret, when sent, is still checked. Off everywhere else.
   */
  clientIdentificationOnly?: boolean;
  /** redirect_uri must be in every code exchange (GoCD: "redirect_uri (required)"). */
  redirectUriRequired?: boolean;
  /** The password grant's user parameter: "username" (RFC 6749 §4.3.2) or GoTo legacy "user_id". */
  passwordUsernameParam?: string;
}

export const RFC6749_RESPONSE: TokenResponseShape = {
  expiresIn: 'number',
  tokenType: true,
  scope: true,
  constants: {},
};
