/** The entities the protocol core reasons about. Times are epoch milliseconds (UTC). */

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

export interface Client {
  id: string;
  name: string;
  redirectUris: string[];
  /** Scopes this client may request. */
  scopes: string[];
  /** Canonical grant type names (RFC 6749), e.g. "authorization_code". */
  grantTypes: string[];
  /** A public client has no secret and must use PKCE (RFC 9700 §2.1.1). */
  isPublic: boolean;
  /** Legacy clients may keep using deprecated flows such as direct login. */
  isLegacy: boolean;
  accessTokenTtlSeconds: number | null;
  refreshTokenTtlSeconds: number | null;
  partnerId: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface ClientSecret {
  id: string;
  clientId: string;
  secretHash: string;
  createdAt: number;
  /** After a rotation the previous secret keeps working until this time. */
  expiresAt: number | null;
}

export interface User {
  id: string;
  email: string;
  passwordHash: string;
  firstName: string;
  lastName: string;
  isAdmin: boolean;
  lockedAt: number | null;
  createdAt: number;
}

export interface Account {
  id: string;
  name: string;
  /** e.g. participant, company, advisor, portal, personal */
  kind: string;
  partnerId: string | null;
  createdAt: number;
}

export interface Scope {
  name: string;
  description: string;
  isDefault: boolean;
}

/** One connection: a client acting for a user on one of the user's accounts. */
export interface Grant {
  id: string;
  clientId: string;
  userId: string;
  accountId: string;
  /** Scopes the user approved; consent is remembered here. */
  scopes: string[];
  partnerId: string | null;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface AuthorizationCode {
  codeHash: string;
  grantId: string;
  clientId: string;
  /** The redirect_uri sent in the authorization request, or null if it was omitted. */
  redirectUri: string | null;
  scopes: string[];
  codeChallenge: string | null;
  codeChallengeMethod: string | null;
  /** Which authorize endpoint issued it; only the matching token endpoint redeems it. */
  channel: string;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

export interface AccessToken {
  tokenHash: string;
  grantId: string;
  clientId: string;
  userId: string;
  accountId: string;
  scopes: string[];
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

export interface RefreshToken {
  tokenHash: string;
  grantId: string;
  clientId: string;
  scopes: string[];
  createdAt: number;
  expiresAt: number;
  /** Set when the token was exchanged for a successor (rotation). */
  rotatedAt: number | null;
  revokedAt: number | null;
}
