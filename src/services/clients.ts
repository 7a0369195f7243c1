/** Registering and managing OAuth clients: validation, secrets, scopes. */
import type { AccessTokenFormat, Client } from '../core/model.js';
import { checkRedirectUriRegistration } from '../core/redirect-uri.js';
import { isScopeToken } from '../core/scope.js';
import { hashCredential, newCredential } from '../core/secrets.js';
import type { ClientChanges, NewClient, Store } from '../store/types.js';
import { NotFoundError, ValidationError } from './errors.js';

export const SUPPORTED_GRANT_TYPES = ['authorization_code', 'refresh_token', 'password', 'client_credentials'] as const;
export const DEFAULT_GRANT_TYPES = ['authorization_code', 'refresh_token'];

export interface ClientRegistration {
  name: string;
  /** Needed only by clients that use the authorization code grant. */
  redirectUris?: string[] | undefined;
  scopes?: string[] | undefined;
  grantTypes?: string[] | undefined;
  isPublic?: boolean | undefined;
  isLegacy?: boolean | undefined;
  accessTokenTtlSeconds?: number | null | undefined;
  refreshTokenTtlSeconds?: number | null | undefined;
  /** 'opaque' or 'jwt' (RFC 9068); null: the server default. */
  accessTokenFormat?: AccessTokenFormat | null | undefined;
  /** A resource server may introspect every access token (RFC 7662); it needs no grant type. */
  isResourceServer?: boolean | undefined;
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === '' || trimmed.length > 200) throw new ValidationError('name must be 1 to 200 characters');
  return trimmed;
}

function checkRedirectUris(uris: string[], required = true): string[] {
  if (uris.length === 0 && required) throw new ValidationError('at least one redirect URI is required');
  for (const uri of uris) {
    const problem = checkRedirectUriRegistration(uri);
    if (problem) throw new ValidationError(`redirect URI ${uri}: ${problem}`);
  }
  return [...new Set(uris)];
}

function checkScopes(scopes: string[]): string[] {
  for (const scope of scopes) if (!isScopeToken(scope)) throw new ValidationError(`"${scope}" is not a valid scope name`);
  return [...new Set(scopes)];
}

function checkAccessTokenFormat(value: string | null): AccessTokenFormat | null {
  if (value === null || value === 'opaque' || value === 'jwt') return value;
  throw new ValidationError(`access token format must be opaque or jwt, not "${value}"`);
}

function checkGrantTypes(grantTypes: string[], allowNone = false): string[] {
  for (const type of grantTypes) {
    if (!(SUPPORTED_GRANT_TYPES as readonly string[]).includes(type)) {
      throw new ValidationError(`unknown grant type "${type}" (known: ${SUPPORTED_GRANT_TYPES.join(', ')})`);
    }
  }
  if (grantTypes.length === 0 && !allowNone) throw new ValidationError('at least one grant type is required');
  return [...new Set(grantTypes)];
}

function checkTtl(value: number | null | undefined, what: string): number | null | undefined {
  if (value === undefined || value === null) return value;
  if (!Number.isInteger(value) || value <= 0) throw new ValidationError(`${what} must be a positive whole number of seconds`);
  return value;
}

/** Makes sure every scope a client may use is in the registry (described by its name until edited). */
async function registerMissingScopes(store: Store, scopes: string[]): Promise<void> {
  const known = new Set((await store.listScopes()).map((scope) => scope.name));
  for (const name of scopes) if (!known.has(name)) await store.upsertScope({ name, description: name, isDefault: false });
}

/** Registers a client; the secret (confidential clients only) is returned once and stored hashed. */
export async function registerClient(
  store: Store,
  input: ClientRegistration,
  now: number,
): Promise<{ client: Client; secret: string | undefined }> {
  const isPublic = input.isPublic ?? false;
  const isResourceServer = input.isResourceServer ?? false;
  // A resource server that only introspects needs no grant type; any other client needs one.
  const grantTypes = checkGrantTypes(input.grantTypes ?? (isResourceServer ? [] : DEFAULT_GRANT_TYPES), isResourceServer);
  const fields: NewClient = {
    name: checkName(input.name),
    // Redirect URIs matter only to the authorization code grant (RFC 6749 §3.1.2).
    redirectUris: checkRedirectUris(input.redirectUris ?? [], grantTypes.includes('authorization_code')),
    scopes: checkScopes(input.scopes ?? []),
    grantTypes,
    isPublic,
    isLegacy: input.isLegacy ?? false,
    accessTokenTtlSeconds: checkTtl(input.accessTokenTtlSeconds, 'access token lifetime') ?? null,
    refreshTokenTtlSeconds: checkTtl(input.refreshTokenTtlSeconds, 'refresh token lifetime') ?? null,
    accessTokenFormat: checkAccessTokenFormat(input.accessTokenFormat ?? null),
    isResourceServer,
  };
  if (isPublic && fields.grantTypes.some((type) => type === 'client_credentials' || type === 'password')) {
    throw new ValidationError('a public client cannot use the client_credentials or password grant');
  }
  if (isPublic && isResourceServer) throw new ValidationError('a resource server must be a confidential client (it authenticates to introspect)');
  const secret = isPublic ? undefined : newCredential('clientSecret');
  const client = await store.transaction(async (tx) => {
    await registerMissingScopes(tx, fields.scopes);
    const created = await tx.createClient(fields, secret === undefined ? null : hashCredential(secret), now);
    await tx.recordAudit({ type: 'client.created', actor: null, ip: null, subject: created.id, detail: { name: created.name } }, now);
    return created;
  });
  return { client, secret };
}

export async function getClient(store: Store, clientId: string): Promise<Client> {
  const client = await store.findClient(clientId);
  if (!client) throw new NotFoundError(`no client ${clientId}`);
  return client;
}

export async function changeClient(store: Store, clientId: string, input: Partial<ClientRegistration>, now: number): Promise<Client> {
  const changes: ClientChanges = {};
  if (input.name !== undefined) changes.name = checkName(input.name);
  if (input.redirectUris !== undefined) changes.redirectUris = checkRedirectUris(input.redirectUris);
  if (input.scopes !== undefined) changes.scopes = checkScopes(input.scopes);
  if (input.grantTypes !== undefined) changes.grantTypes = checkGrantTypes(input.grantTypes);
  if (input.isLegacy !== undefined) changes.isLegacy = input.isLegacy;
  if (input.accessTokenTtlSeconds !== undefined) changes.accessTokenTtlSeconds = checkTtl(input.accessTokenTtlSeconds, 'access token lifetime');
  if (input.refreshTokenTtlSeconds !== undefined) changes.refreshTokenTtlSeconds = checkTtl(input.refreshTokenTtlSeconds, 'refresh token lifetime');
  if (input.accessTokenFormat !== undefined) changes.accessTokenFormat = checkAccessTokenFormat(input.accessTokenFormat);
  if (input.isResourceServer !== undefined) {
    if (input.isResourceServer && (await getClient(store, clientId)).isPublic) {
      throw new ValidationError('a resource server must be a confidential client (it authenticates to introspect)');
    }
    changes.isResourceServer = input.isResourceServer;
  }
  return store.transaction(async (tx) => {
    if (changes.scopes) await registerMissingScopes(tx, changes.scopes);
    const updated = await tx.updateClient(clientId, changes, now);
    if (!updated) throw new NotFoundError(`no client ${clientId}`);
    await tx.recordAudit({ type: 'client.updated', actor: null, ip: null, subject: clientId, detail: { fields: Object.keys(changes) } }, now);
    return updated;
  });
}

export async function destroyClient(store: Store, clientId: string, now: number): Promise<void> {
  await store.transaction(async (tx) => {
    if (!(await tx.deleteClient(clientId))) throw new NotFoundError(`no client ${clientId}`);
    await tx.recordAudit({ type: 'client.destroyed', actor: null, ip: null, subject: clientId, detail: {} }, now);
  });
}

/** Issues a new secret; the previous ones keep working for `overlapSeconds`. */
export async function rotateClientSecret(store: Store, clientId: string, overlapSeconds: number, now: number): Promise<string> {
  const client = await getClient(store, clientId);
  if (client.isPublic) throw new ValidationError('a public client has no secret to rotate');
  const secret = newCredential('clientSecret');
  await store.transaction(async (tx) => {
    await tx.rotateClientSecret(clientId, hashCredential(secret), now, now + overlapSeconds * 1000);
    await tx.recordAudit({ type: 'client.secret_rotated', actor: null, ip: null, subject: clientId, detail: { overlapSeconds } }, now);
  });
  return secret;
}
