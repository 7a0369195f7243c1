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
  /** Access tokens this client receives: opaque, or JWT (RFC 9068). Null or absent: the server default. */
  accessTokenFormat?: AccessTokenFormat | null;
  /**
   * A resource server: may introspect any access token (RFC 7662 §2.1), not only its own.
   * Absent means false.
   */
  isResourceServer?: boolean;
}

/** How an access token is represented: an opaque random string, or a signed JWT (RFC 9068). */
export type AccessTokenFormat = 'opaque' | 'jwt';

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

/** A partner: the company behind one or more clients, credited with the accounts created through them. */
export interface Partner {
  id: string;
  name: string;
  /** The identifier partners send (Go1's partner_portal_id). */
  partnerPortalId: string;
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

/**
 * A client's own connection (client credentials, RFC 6749 §4.4): no user, no
 * account. One per client; revoking it revokes the access tokens issued on it.
 */
export interface MachineGrant extends Omit<Grant, 'userId' | 'accountId'> {
  userId: null;
  accountId: null;
}

/** Any grant row: a user's connection or a client's own. */
export type AnyGrant = Grant | MachineGrant;

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
  /** SHA-256 of the token: of the random string, or of the whole JWT. */
  tokenHash: string;
  grantId: string;
  clientId: string;
  /** Null for a client's own token (client credentials). */
  userId: string | null;
  accountId: string | null;
  scopes: string[];
  createdAt: number;
  expiresAt: number;
  /** When the token, or the grant it was issued from, was revoked (the earlier of the two). */
  revokedAt: number | null;
  /** For a JWT access token, the kid of the key that signed it; null or absent for an opaque token. */
  signingKeyId?: string | null;
}

/** An ES256 key that signs JWT access tokens, as stored. */
export interface SigningKey {
  kid: string;
  alg: 'ES256';
  /** JSON Web Keys (RFC 7517) as JSON objects. */
  publicJwk: Record<string, unknown>;
  privateJwk: Record<string, unknown>;
  createdAt: number;
  /** When a newer key took over signing; the key stays published while tokens it signed live. */
  retiredAt: number | null;
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
  /** When the token, or the grant it was issued from, was revoked (the earlier of the two). */
  revokedAt: number | null;
}
