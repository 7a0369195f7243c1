/** The authorization endpoint (RFC 6749 §4.1.1, §4.1.2; RFC 7636; RFC 9207). */
import {
  InvalidRequest,
  InvalidScope,
  type OAuthError,
  UnauthorizedClient,
  UnsupportedResponseType,
  UntrustedAuthorizationRequest,
} from './errors.js';
import type { Client, Grant } from './model.js';
import { checkChallenge } from './pkce.js';
import type { ProtocolStore } from './ports.js';
import { isRegisteredRedirectUri } from './redirect-uri.js';
import { defaultScopes, isSubset, parseScope } from './scope.js';
import { hashCredential, newCredential } from './secrets.js';
import type { ProtocolSettings } from './settings.js';

export interface AuthorizeEndpointSettings {
  /** Codes issued here are redeemable only on token endpoints of the same channel. */
  channel: string;
  /** Legacy endpoints start the flow from client_id alone. */
  responseTypeRequired: boolean;
  /** redirect_uri must be sent even when only one is registered (GoCD: "redirect_uri (required)"). */
  redirectUriRequired?: boolean;
  /** A query parameter naming the partner by its partner_portal_id (Go1). */
  partnerParam?: string;
}

const PROMPT_VALUES = new Set(['none', 'login', 'consent', 'select_account']);

/** A validated authorization request, kept while the user signs in and consents. */
export interface AuthorizationRequest {
  clientId: string;
  /** Where to send the user back: the requested URI, or the single registered one. */
  redirectUri: string;
  /** Whether redirect_uri was in the request (then the token request must repeat it). */
  redirectUriExplicit: boolean;
  scopes: string[];
  state: string | undefined;
  codeChallenge: string | undefined;
  codeChallengeMethod: string | undefined;
  prompt: string[];
  channel: string;
  /** Extra parameters a preset accepts, such as Go1's partner_portal_id. */
  extensions: Record<string, string>;
  /** The partner the request named, credited with the connection and the accounts it creates. */
  partnerId?: string | null;
}

/** An error to report by redirecting to the (validated) redirect URI. */
export class AuthorizationRedirectError extends Error {
  constructor(
    readonly redirectUri: string,
    readonly state: string | undefined,
    readonly oauthError: OAuthError,
  ) {
    super(oauthError.description);
  }
}

/**
 * Validates an authorization request. Problems with the client or the
 * redirect URI throw UntrustedAuthorizationRequest (shown on a page, never
 * redirected, §4.1.2.1); every other problem throws AuthorizationRedirectError.
 */
export async function validateAuthorizationRequest(
  input: { params: Readonly<Record<string, string>>; repeated: readonly string[]; extensionNames?: readonly string[] },
  deps: { store: ProtocolStore; settings: ProtocolSettings; endpoint: AuthorizeEndpointSettings },
): Promise<{ request: AuthorizationRequest; client: Client }> {
  const { params, repeated } = input;
  // RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once."
  if (repeated.includes('client_id') || repeated.includes('redirect_uri')) {
    throw new UntrustedAuthorizationRequest('The request repeats client_id or redirect_uri.');
  }
  const clientId = params.client_id;
  if (!clientId) throw new UntrustedAuthorizationRequest('The request has no client_id.');
  const client = await deps.store.findClient(clientId);
  if (!client) throw new UntrustedAuthorizationRequest('The application that sent you here is not registered.', 'unknown client');

  // §3.1.2.3: redirect_uri may be omitted only if exactly one is registered.
  let redirectUri = params.redirect_uri;
  const redirectUriExplicit = redirectUri !== undefined;
  if (redirectUri === undefined) {
    if (deps.endpoint.redirectUriRequired) throw new UntrustedAuthorizationRequest('The request has no redirect_uri.');
    if (client.redirectUris.length !== 1 || client.redirectUris[0] === undefined) {
      throw new UntrustedAuthorizationRequest('The request has no redirect_uri and the application registered several.');
    }
    redirectUri = client.redirectUris[0];
  } else if (!isRegisteredRedirectUri(client.redirectUris, redirectUri)) {
    throw new UntrustedAuthorizationRequest(
      'The redirect_uri is not registered for this application.',
      'redirect_uri mismatch',
    );
  }

  const state = params.state;
  const fail = (error: OAuthError): never => {
    throw new AuthorizationRedirectError(redirectUri, repeated.includes('state') ? undefined : state, error);
  };

  if (repeated.length > 0) fail(new InvalidRequest(`The request repeats ${repeated.join(', ')}.`));
  const responseType = params.response_type;
  if (responseType === undefined) {
    if (deps.endpoint.responseTypeRequired) fail(new InvalidRequest('The response_type parameter is required.'));
  } else if (responseType !== 'code') {
    fail(new UnsupportedResponseType('Only response_type=code is supported.'));
  }
  if (!client.grantTypes.includes('authorization_code')) {
    fail(new UnauthorizedClient('This client may not use the authorization code grant.'));
  }

  const requested = parseScope(params.scope);
  if (requested === undefined) return fail(new InvalidScope('The scope parameter is malformed.'));
  if (!isSubset(requested, client.scopes)) fail(new InvalidScope('The request asks for a scope this client may not use.'));
  const scopes = requested.length > 0 ? requested : defaultScopes(client, await deps.store.listScopes());

  const pkceProblem = checkChallenge(params.code_challenge, params.code_challenge_method, deps.settings.pkce, client.isPublic);
  if (pkceProblem) fail(new InvalidRequest(pkceProblem));

  const prompt = (params.prompt ?? '').split(' ').filter((value) => value !== '');
  if (!prompt.every((value) => PROMPT_VALUES.has(value))) fail(new InvalidRequest('The prompt parameter has an unknown value.'));
  if (prompt.includes('none') && prompt.length > 1) fail(new InvalidRequest('prompt=none cannot be combined with other values.'));

  let partnerId: string | null = null;
  const partnerParam = deps.endpoint.partnerParam;
  const partnerReference = partnerParam === undefined ? undefined : params[partnerParam];
  if (partnerParam !== undefined && partnerReference !== undefined) {
    const partner = await deps.store.findPartnerByPortalId(partnerReference);
    if (!partner) return fail(new InvalidRequest(`The ${partnerParam} "${partnerReference}" is not a known partner.`));
    partnerId = partner.id;
  }

  const extensions: Record<string, string> = {};
  for (const name of input.extensionNames ?? []) {
    const value = params[name];
    if (value !== undefined) extensions[name] = value;
  }

  return {
    client,
    request: {
      clientId: client.id,
      redirectUri,
      redirectUriExplicit,
      scopes,
      state,
      codeChallenge: params.code_challenge,
      codeChallengeMethod: params.code_challenge === undefined ? undefined : (params.code_challenge_method ?? 'plain'),
      prompt,
      channel: deps.endpoint.channel,
      extensions,
      partnerId,
    },
  };
}

/**
 * Whether the user must be asked. Consent is remembered on the grant, but
 * never for public clients: RFC 6749 §10.2 warns that their identity cannot
 * be verified, so every request is shown to the user (RFC 9700 §4.x).
 */
export function consentRequired(request: AuthorizationRequest, client: Client, grant: Grant | undefined): boolean {
  if (request.prompt.includes('consent') || client.isPublic) return true;
  return !grant || grant.revokedAt !== null || !isSubset(request.scopes, grant.scopes);
}

/**
 * Records the approval on the grant and issues a single-use code (§4.1.2).
 * The grant is credited to the partner the request named, else to the
 * client's partner (`approval.partnerId`); a partner named in the request
 * also claims the account if no partner has.
 */
export async function approveAuthorization(
  request: AuthorizationRequest,
  approval: { userId: string; accountId: string; partnerId: string | null },
  deps: { store: ProtocolStore; settings: ProtocolSettings; now: number },
): Promise<{ code: string; redirectTo: string }> {
  const { store, settings, now } = deps;
  const code = newCredential('code');
  const partnerId = request.partnerId ?? approval.partnerId;
  await store.transaction(async (tx) => {
    if (request.partnerId) await tx.linkAccountToPartner(approval.accountId, request.partnerId);
    const grant = await tx.saveGrant(
      { clientId: request.clientId, userId: approval.userId, accountId: approval.accountId, scopes: request.scopes, partnerId },
      now,
    );
    await tx.insertCode({
      codeHash: hashCredential(code),
      grantId: grant.id,
      clientId: request.clientId,
      redirectUri: request.redirectUriExplicit ? request.redirectUri : null,
      scopes: request.scopes,
      codeChallenge: request.codeChallenge ?? null,
      codeChallengeMethod: request.codeChallengeMethod ?? null,
      channel: request.channel,
      createdAt: now,
      expiresAt: now + settings.codeTtlSeconds * 1000,
      consumedAt: null,
    });
  });
  return { code, redirectTo: redirectWith(request.redirectUri, { code, state: request.state, iss: settings.issuer }) };
}

/** The error redirect (§4.1.2.1) with `iss` (RFC 9207 §2). */
export function errorRedirect(
  redirectUri: string,
  state: string | undefined,
  error: OAuthError,
  settings: ProtocolSettings,
): string {
  return redirectWith(redirectUri, {
    error: error.error,
    error_description: error.description,
    state,
    iss: settings.issuer,
  });
}

/** Adds parameters to the redirect URI's query, retaining its own (§3.1.2). */
export function redirectWith(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.append(name, value);
  }
  return url.toString();
}
