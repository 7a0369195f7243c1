/**
 * OAuth 2.0 errors (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1).
 *
 * Each class carries the RFC error code, the HTTP status it maps to, a public
 * `description` that is safe to send to the client, and a private `detail`
 * that is only ever logged (never sent, never containing secrets).
 */
export class OAuthError extends Error {
  readonly error: string;
  readonly status: number;
  readonly description: string;
  readonly detail: string | undefined;

  constructor(error: string, status: number, description: string, detail?: string) {
    super(description);
    this.name = new.target.name;
    this.error = error;
    this.status = status;
    this.description = description;
    this.detail = detail;
  }

  /** The RFC 6749 §5.2 body. */
  toJSON(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

export class InvalidRequest extends OAuthError {
  constructor(description: string, detail?: string) {
    super('invalid_request', 400, description, detail);
  }
}

/**
 * RFC 6749 §5.2: "invalid_client ... The authorization server MAY return an
 * HTTP 401 (Unauthorized) status code to indicate which HTTP authentication
 * schemes are supported. If the client attempted to authenticate via the
 * "Authorization" request header field, the authorization server MUST respond
 * with an HTTP 401 ... and include the "WWW-Authenticate" response header".
 * The description is deliberately the same for an unknown client and a wrong
 * secret so the response does not reveal which client ids exist.
 */
export class InvalidClient extends OAuthError {
  readonly usedBasic: boolean;
  constructor(detail: string, usedBasic = false) {
    super('invalid_client', 401, 'Client authentication failed.', detail);
    this.usedBasic = usedBasic;
  }
}

export class InvalidGrant extends OAuthError {
  constructor(description: string, detail?: string) {
    super('invalid_grant', 400, description, detail);
  }
}

export class UnauthorizedClient extends OAuthError {
  constructor(description: string, detail?: string) {
    super('unauthorized_client', 400, description, detail);
  }
}

export class UnsupportedGrantType extends OAuthError {
  constructor(description: string, detail?: string) {
    super('unsupported_grant_type', 400, description, detail);
  }
}

export class InvalidScope extends OAuthError {
  constructor(description: string, detail?: string) {
    super('invalid_scope', 400, description, detail);
  }
}

export class UnsupportedResponseType extends OAuthError {
  constructor(description: string, detail?: string) {
    super('unsupported_response_type', 400, description, detail);
  }
}

export class AccessDenied extends OAuthError {
  constructor(description: string, detail?: string) {
    super('access_denied', 403, description, detail);
  }
}

export class ServerError extends OAuthError {
  constructor(detail?: string) {
    super('server_error', 500, 'The authorization server encountered an unexpected condition.', detail);
  }
}

export class TemporarilyUnavailable extends OAuthError {
  constructor(description: string, detail?: string) {
    super('temporarily_unavailable', 503, description, detail);
  }
}

/** OpenID Connect Core §3.1.2.6, used with prompt=none. */
export class LoginRequired extends OAuthError {
  constructor(description = 'The user is not signed in.') {
    super('login_required', 400, description);
  }
}

export class ConsentRequired extends OAuthError {
  constructor(description = 'The user has not approved this client for the requested scopes.') {
    super('consent_required', 400, description);
  }
}

/** RFC 6750 §3.1 */
export class InvalidToken extends OAuthError {
  constructor(description = 'The access token is missing, expired or revoked.', detail?: string) {
    super('invalid_token', 401, description, detail);
  }
}

/**
 * RFC 6750 §3: "If the request lacks any authentication information (e.g., the
 * client was unaware that authentication is necessary or attempted using an
 * unsupported authentication method), the resource server SHOULD NOT include
 * an error code or other error information" in the challenge.
 */
export class AccessTokenRequired extends InvalidToken {
  constructor(detail = 'no access token') {
    super('An access token is required.', detail);
  }
}

export class InsufficientScope extends OAuthError {
  readonly scope: string;
  constructor(scope: string) {
    super('insufficient_scope', 403, 'The access token does not carry the scope this resource requires.');
    this.scope = scope;
  }
}

/**
 * An authorization request whose client or redirect_uri cannot be trusted.
 * RFC 6749 §4.1.2.1: "the authorization server SHOULD inform the resource
 * owner of the error and MUST NOT automatically redirect the user-agent to the
 * invalid redirection URI." The HTTP layer renders it as an error page.
 */
export class UntrustedAuthorizationRequest extends OAuthError {
  constructor(description: string, detail?: string) {
    super('invalid_request', 400, description, detail);
  }
}
