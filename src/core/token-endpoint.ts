/** The token endpoint (RFC 6749 §3.2): grant type dispatch and client authentication. */
import { authenticateClient, presentedCredentials } from './client-auth.js';
import { InvalidRequest, UnauthorizedClient, UnsupportedGrantType } from './errors.js';
import { grantHandlers } from './grants/index.js';
import type { LoginThrottle } from './lockout.js';
import type { Account, User } from './model.js';
import type { ProtocolStore, SubjectLookup } from './ports.js';
import type { ProtocolSettings, SubjectField, TokenEndpointSettings, TokenResponseShape } from './settings.js';
import type { IssuedTokens } from './tokens.js';
import { formatScope } from './scope.js';

export interface TokenRequest {
  params: Readonly<Record<string, string>>;
  /** The Authorization header, if any. */
  authorization: string | undefined;
}

export async function handleTokenRequest(
  request: TokenRequest,
  deps: {
    store: ProtocolStore;
    settings: ProtocolSettings;
    endpoint: TokenEndpointSettings;
    now: number;
    throttle?: LoginThrottle | undefined;
    whenThrottleDown?: 'closed' | 'open' | undefined;
    ip?: string | null | undefined;
  },
): Promise<IssuedTokens> {
  const { params } = request;
  const { endpoint } = deps;
  const wireType = params.grant_type;
  if (wireType === undefined || wireType === '') throw new InvalidRequest('The grant_type parameter is required.');
  const grantType = Object.hasOwn(endpoint.grantTypes, wireType) ? endpoint.grantTypes[wireType] : undefined;
  const handler = grantType === undefined ? undefined : grantHandlers.get(grantType);
  if (!handler) throw new UnsupportedGrantType(`The grant type "${wireType}" is not supported.`);

  const client = await authenticateClient(
    presentedCredentials(request.authorization, params),
    endpoint.clientAuthMethods,
    deps.store,
    deps.now,
    { identificationOnly: endpoint.clientIdentificationOnly },
  );
  if (!(handler.allows?.(client) ?? client.grantTypes.includes(handler.type))) {
    throw new UnauthorizedClient(`This client is not allowed to use the ${wireType} grant.`);
  }
  // A literal of fixed shape, not a spread of deps: the handler's reads of it stay monomorphic.
  const { store, settings, now, throttle, whenThrottleDown, ip } = deps;
  return handler.handle({ params, client, store, settings, endpoint, now, throttle, whenThrottleDown, ip });
}

export interface Subject {
  user: User;
  account: Account;
}

/** Loads the user and account behind the tokens when the response shape describes them. */
export async function responseSubject(issued: IssuedTokens, shape: TokenResponseShape, store: SubjectLookup): Promise<Subject | undefined> {
  if (!shape.subjectFields || Object.keys(shape.subjectFields).length === 0) return undefined;
  // A client's own token (client credentials) has no user or account to describe.
  const { userId, accountId } = issued.grant;
  if (userId === null || accountId === null) return undefined;
  const [user, account] = await Promise.all([store.findUser(userId), store.findAccount(accountId)]);
  return user && account ? { user, account } : undefined;
}

function subjectValue(subject: Subject, field: SubjectField): string {
  const [entity, property] = field.split('.') as ['user' | 'account', string];
  return String((subject[entity] as unknown as Record<string, unknown>)[property] ?? '');
}

/** The successful response body (RFC 6749 §5.1), in the endpoint's shape. */
export function tokenResponseBody(issued: IssuedTokens, shape: TokenResponseShape, subject?: Subject): Record<string, string | number> {
  const body: Record<string, string | number> = { access_token: issued.accessToken };
  if (shape.tokenType) body.token_type = 'Bearer';
  body.expires_in = shape.expiresIn === 'string' ? String(issued.expiresIn) : issued.expiresIn;
  if (issued.refreshToken !== undefined) body.refresh_token = issued.refreshToken;
  if (shape.scope) body.scope = formatScope(issued.scopes);
  if (subject && shape.subjectFields) {
    for (const [name, field] of Object.entries(shape.subjectFields)) body[name] = subjectValue(subject, field);
  }
  return Object.assign(body, shape.constants);
}
