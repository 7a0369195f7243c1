/**
 * Registering and managing OAuth clients: validation, secrets, scopes, the
 * legacy rule and the audit trail. Shared by the CLI, the admin console and
 * the admin API, so that every door applies the same rules.
 */
import type { AccessTokenFormat, Client, Partner } from '../core/model.js';
import { checkRedirectUriRegistration } from '../core/redirect-uri.js';
import { isScopeToken } from '../core/scope.js';
import { hashCredential, newCredential } from '../core/secrets.js';
import type { DestroyedClient } from '../store/admin.js';
import type { ClientChanges, NewClient, Store } from '../store/types.js';
import { type Actor, auditEvent, SYSTEM } from './audit.js';
import { NotFoundError, ValidationError } from './errors.js';

export const SUPPORTED_GRANT_TYPES = ['authorization_code', 'refresh_token', 'password', 'client_credentials'] as const;
export const DEFAULT_GRANT_TYPES = ['authorization_code', 'refresh_token'];

/** Bounds an operator is held to; generous, but a typo of three zeros is caught. */
export const LIMITS = {
  name: 200,
  redirectUris: 50,
  redirectUriLength: 2000,
  scopes: 100,
  /** 24 hours. */
  accessTokenTtlSeconds: 86_400,
  /** 400 days. */
  refreshTokenTtlSeconds: 400 * 86_400,
} as const;

export interface ClientRegistration {
  name: string;
  /** Needed only by clients that use the authorization code grant. */
  redirectUris?: string[] | undefined;
  scopes?: string[] | undefined;
  grantTypes?: string[] | undefined;
  isPublic?: boolean | undefined;
  /** Direct login (the deprecated password grant); see `allowNewLegacy`. */
  isLegacy?: boolean | undefined;
  accessTokenTtlSeconds?: number | null | undefined;
  refreshTokenTtlSeconds?: number | null | undefined;
  /** 'opaque' or 'jwt' (RFC 9068); null: the server default. */
  accessTokenFormat?: AccessTokenFormat | null | undefined;
  /** A resource server may introspect every access token (RFC 7662); it needs no grant type. */
  isResourceServer?: boolean | undefined;
  /** The partner behind the client, by its partner_portal_id; null (on a change) unlinks it. */
  partnerPortalId?: string | null | undefined;
}

export interface ClientActionOptions {
  /** Who acts, for the audit trail (default: the system). */
  by?: Actor | undefined;
  /**
   * The operator's explicit override of the legacy rule: without it the
   * legacy flag (direct login) can be kept or cleared, never newly granted.
   */
  allowNewLegacy?: boolean | undefined;
}

/** The message of the legacy rule; the CLI, console and API add how to override it. */
export const LEGACY_RULE =
  'new clients may not use direct login (the deprecated password grant): the legacy flag can only be kept by clients that have it, unless an operator explicitly overrides this rule';

type Fields = Record<string, string>;

function checkName(name: string, fields: Fields): string {
  const trimmed = name.trim();
  if (trimmed === '' || trimmed.length > LIMITS.name) fields.name = `name must be 1 to ${LIMITS.name} characters`;
  return trimmed;
}

function checkRedirectUris(uris: string[], required: boolean, fields: Fields): string[] {
  if (uris.length === 0 && required) {
    fields.redirect_uris = 'at least one redirect URI is required (the authorization_code grant redirects to it)';
  } else if (uris.length > LIMITS.redirectUris) {
    fields.redirect_uris = `at most ${LIMITS.redirectUris} redirect URIs`;
  } else {
    for (const uri of uris) {
      const problem = uri.length > LIMITS.redirectUriLength ? `at most ${LIMITS.redirectUriLength} characters` : checkRedirectUriRegistration(uri);
      if (problem) {
        fields.redirect_uris = `redirect URI ${uri}: ${problem}`;
        break;
      }
    }
  }
  return [...new Set(uris)];
}

function checkScopes(scopes: string[], fields: Fields): string[] {
  const bad = scopes.find((scope) => !isScopeToken(scope) || scope.length > 100);
  if (bad !== undefined) fields.scopes = `"${bad}" is not a valid scope name`;
  else if (scopes.length > LIMITS.scopes) fields.scopes = `at most ${LIMITS.scopes} scopes`;
  return [...new Set(scopes)];
}

function checkGrantTypes(grantTypes: string[], allowNone: boolean, fields: Fields): string[] {
  const unknown = grantTypes.find((type) => !(SUPPORTED_GRANT_TYPES as readonly string[]).includes(type));
  if (unknown !== undefined) fields.grant_types = `unknown grant type "${unknown}" (known: ${SUPPORTED_GRANT_TYPES.join(', ')})`;
  else if (grantTypes.length === 0 && !allowNone) fields.grant_types = 'at least one grant type is required';
  return [...new Set(grantTypes)];
}

function checkTtl(value: number | null | undefined, field: string, what: string, max: number, fields: Fields): number | null | undefined {
  if (value === undefined || value === null) return value;
  if (!Number.isInteger(value) || value <= 0 || value > max) {
    fields[field] = `${what} must be a whole number of seconds from 1 to ${max}`;
  }
  return value;
}

function checkAccessTokenFormat(value: string | null, fields: Fields): AccessTokenFormat | null {
  if (value === null || value === 'opaque' || value === 'jwt') return value;
  fields.access_token_format = `access token format must be opaque or jwt, not "${value}"`;
  return null;
}

/** The rules that tie fields together, on the client as it would be after the change. */
function checkCombination(client: Omit<NewClient, 'name'>, fields: Fields): void {
  if (client.isPublic && client.grantTypes.some((type) => type === 'client_credentials' || type === 'password')) {
    fields.grant_types ??= 'a public client cannot use the client_credentials or password grant';
  }
  if (client.isPublic && client.isResourceServer) {
    fields.resource_server ??= 'a resource server must be a confidential client (it authenticates to introspect)';
  }
  if (client.grantTypes.includes('password') && !client.isLegacy) {
    fields.grant_types ??= 'the password grant (direct login) is only for legacy clients';
  }
  if (client.grantTypes.includes('authorization_code') && client.redirectUris.length === 0) {
    fields.redirect_uris ??= 'at least one redirect URI is required (the authorization_code grant redirects to it)';
  }
}

async function resolvePartner(store: Store, partnerPortalId: string | null, fields: Fields): Promise<Partner | null> {
  if (partnerPortalId === null || partnerPortalId.trim() === '') return null;
  const partner = await store.findPartnerByPortalId(partnerPortalId.trim());
  if (!partner) fields.partner_portal_id = `no partner with partner_portal_id ${partnerPortalId.trim()}`;
  return partner ?? null;
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
  options: ClientActionOptions = {},
): Promise<{ client: Client; secret: string | undefined }> {
  const fields: Fields = {};
  const isPublic = input.isPublic ?? false;
  const isResourceServer = input.isResourceServer ?? false;
  const isLegacy = input.isLegacy ?? false;
  // A resource server that only introspects needs no grant type; any other client needs one.
  const grantTypes = checkGrantTypes(input.grantTypes ?? (isResourceServer ? [] : DEFAULT_GRANT_TYPES), isResourceServer, fields);
  const client: NewClient = {
    name: checkName(input.name, fields),
    // Redirect URIs matter only to the authorization code grant (RFC 6749 §3.1.2).
    redirectUris: checkRedirectUris(input.redirectUris ?? [], grantTypes.includes('authorization_code'), fields),
    scopes: checkScopes(input.scopes ?? [], fields),
    grantTypes,
    isPublic,
    isLegacy,
    accessTokenTtlSeconds: checkTtl(input.accessTokenTtlSeconds, 'access_token_ttl', 'access token lifetime', LIMITS.accessTokenTtlSeconds, fields) ?? null,
    refreshTokenTtlSeconds: checkTtl(input.refreshTokenTtlSeconds, 'refresh_token_ttl', 'refresh token lifetime', LIMITS.refreshTokenTtlSeconds, fields) ?? null,
    accessTokenFormat: checkAccessTokenFormat(input.accessTokenFormat ?? null, fields),
    isResourceServer,
  };
  if (isLegacy && !options.allowNewLegacy) fields.legacy = LEGACY_RULE;
  checkCombination(client, fields);
  const partner = await resolvePartner(store, input.partnerPortalId ?? null, fields);
  ValidationError.throwIfAny(fields);
  client.partnerId = partner?.id ?? null;

  const secret = isPublic ? undefined : newCredential('clientSecret');
  const created = await store.transaction(async (tx) => {
    await registerMissingScopes(tx, client.scopes);
    const row = await tx.createClient(client, secret === undefined ? null : hashCredential(secret), now);
    await tx.recordAudit(
      auditEvent(options.by ?? SYSTEM, 'client.created', row.id, {
        name: row.name,
        public: row.isPublic,
        ...(row.isLegacy ? { legacy: true, legacyOverride: true } : {}),
        ...(partner ? { partnerId: partner.id } : {}),
      }),
      now,
    );
    return row;
  });
  return { client: created, secret };
}

export async function getClient(store: Store, clientId: string): Promise<Client> {
  const client = await store.findClient(clientId);
  if (!client) throw new NotFoundError(`no client ${clientId}`);
  return client;
}

/** Changes the fields given (undefined leaves a field as it is). */
export async function changeClient(
  store: Store,
  clientId: string,
  input: Partial<ClientRegistration>,
  now: number,
  options: ClientActionOptions = {},
): Promise<Client> {
  const current = await getClient(store, clientId);
  if (input.isPublic !== undefined && input.isPublic !== current.isPublic) {
    throw ValidationError.field('public', 'a client cannot change between public and confidential; register a new client instead');
  }
  const fields: Fields = {};
  const changes: ClientChanges = {};
  if (input.name !== undefined) changes.name = checkName(input.name, fields);
  if (input.grantTypes !== undefined) changes.grantTypes = checkGrantTypes(input.grantTypes, input.isResourceServer ?? current.isResourceServer ?? false, fields);
  if (input.redirectUris !== undefined) {
    const grantTypes = changes.grantTypes ?? current.grantTypes;
    changes.redirectUris = checkRedirectUris(input.redirectUris, grantTypes.includes('authorization_code'), fields);
  }
  if (input.scopes !== undefined) changes.scopes = checkScopes(input.scopes, fields);
  if (input.isLegacy !== undefined) {
    if (input.isLegacy && !current.isLegacy && !options.allowNewLegacy) fields.legacy = LEGACY_RULE;
    changes.isLegacy = input.isLegacy;
  }
  if (input.accessTokenTtlSeconds !== undefined) {
    changes.accessTokenTtlSeconds = checkTtl(input.accessTokenTtlSeconds, 'access_token_ttl', 'access token lifetime', LIMITS.accessTokenTtlSeconds, fields);
  }
  if (input.refreshTokenTtlSeconds !== undefined) {
    changes.refreshTokenTtlSeconds = checkTtl(input.refreshTokenTtlSeconds, 'refresh_token_ttl', 'refresh token lifetime', LIMITS.refreshTokenTtlSeconds, fields);
  }
  if (input.accessTokenFormat !== undefined) changes.accessTokenFormat = checkAccessTokenFormat(input.accessTokenFormat, fields);
  if (input.isResourceServer !== undefined) changes.isResourceServer = input.isResourceServer;
  let partner: Partner | null | undefined;
  if (input.partnerPortalId !== undefined) {
    partner = await resolvePartner(store, input.partnerPortalId, fields);
    changes.partnerId = partner?.id ?? null;
  }
  checkCombination(
    {
      redirectUris: changes.redirectUris ?? current.redirectUris,
      scopes: changes.scopes ?? current.scopes,
      grantTypes: changes.grantTypes ?? current.grantTypes,
      isPublic: current.isPublic,
      isLegacy: changes.isLegacy ?? current.isLegacy,
      isResourceServer: changes.isResourceServer ?? current.isResourceServer ?? false,
    },
    fields,
  );
  ValidationError.throwIfAny(fields);

  const newlyLegacy = changes.isLegacy === true && !current.isLegacy;
  return store.transaction(async (tx) => {
    if (changes.scopes) await registerMissingScopes(tx, changes.scopes);
    const updated = await tx.updateClient(clientId, changes, now);
    if (!updated) throw new NotFoundError(`no client ${clientId}`);
    await tx.recordAudit(
      auditEvent(options.by ?? SYSTEM, 'client.updated', clientId, {
        fields: Object.keys(changes),
        ...(newlyLegacy ? { legacy: true, legacyOverride: true } : {}),
      }),
      now,
    );
    return updated;
  });
}

/**
 * Destroys a client: every connection it holds is revoked with its tokens and
 * unused codes, its secrets are deleted, and it stops authenticating at once.
 * The row stays as a tombstone, so reports and the audit log still name it.
 */
export async function destroyClient(
  store: Store,
  clientId: string,
  now: number,
  options: Pick<ClientActionOptions, 'by'> = {},
): Promise<{ client: Client; revoked: DestroyedClient }> {
  return store.transaction(async (tx) => {
    const client = await getClient(tx, clientId);
    const revoked = await tx.admin.destroyClient(clientId, now);
    if (!revoked) throw new NotFoundError(`no client ${clientId}`);
    await tx.recordAudit(
      auditEvent(options.by ?? SYSTEM, 'client.destroyed', clientId, {
        name: client.name,
        revokedGrants: revoked.grants,
      }),
      now,
    );
    return { client, revoked };
  });
}

/** The longest overlap an operator may give a rotated secret: 30 days. */
export const MAX_SECRET_OVERLAP_SECONDS = 30 * 86_400;

/** Issues a new secret; the previous ones keep working for `overlapSeconds` (0: they stop at once). */
export async function rotateClientSecret(
  store: Store,
  clientId: string,
  overlapSeconds: number,
  now: number,
  options: Pick<ClientActionOptions, 'by'> = {},
): Promise<string> {
  if (!Number.isInteger(overlapSeconds) || overlapSeconds < 0 || overlapSeconds > MAX_SECRET_OVERLAP_SECONDS) {
    throw ValidationError.field('overlap_seconds', `the overlap must be a whole number of seconds from 0 to ${MAX_SECRET_OVERLAP_SECONDS} (30 days)`);
  }
  const client = await getClient(store, clientId);
  if (client.isPublic) throw ValidationError.field('client_id', 'a public client has no secret to rotate');
  const secret = newCredential('clientSecret');
  await store.transaction(async (tx) => {
    await tx.rotateClientSecret(clientId, hashCredential(secret), now, now + overlapSeconds * 1000);
    await tx.recordAudit(auditEvent(options.by ?? SYSTEM, 'client.secret_rotated', clientId, { overlapSeconds }), now);
  });
  return secret;
}

export interface ClientSearchInput {
  q?: string | undefined;
  /** A partner_portal_id. */
  partner?: string | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

/** Live clients whose name contains `q` (or whose id is `q`), by name. */
export async function searchClients(store: Store, input: ClientSearchInput): Promise<{ clients: Client[]; total: number }> {
  const fields: Fields = {};
  const q = input.q?.trim() ?? '';
  if (q.length > 200) fields.q = 'the search is at most 200 characters';
  const limit = input.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) fields.limit = 'limit is a whole number from 1 to 500';
  const offset = input.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) fields.offset = 'offset is a whole number, 0 or more';
  let partnerId: string | undefined;
  if (input.partner?.trim()) {
    const partner = await store.findPartnerByPortalId(input.partner.trim());
    if (!partner) fields.partner = `no partner with partner_portal_id ${input.partner.trim()}`;
    partnerId = partner?.id;
  }
  ValidationError.throwIfAny(fields);
  return store.admin.searchClients({ q: q || undefined, partnerId, limit, offset });
}

/** A client as the CLI and the admin API print it: never a secret. */
export function clientView(client: Client, partner: Partner | undefined): Record<string, unknown> {
  return {
    client_id: client.id,
    name: client.name,
    redirect_uris: client.redirectUris,
    scopes: client.scopes,
    grant_types: client.grantTypes,
    public: client.isPublic,
    legacy: client.isLegacy,
    access_token_ttl: client.accessTokenTtlSeconds,
    refresh_token_ttl: client.refreshTokenTtlSeconds,
    access_token_format: client.accessTokenFormat ?? null,
    resource_server: client.isResourceServer ?? false,
    partner_portal_id: partner?.partnerPortalId ?? null,
    created_at: new Date(client.createdAt).toISOString(),
    updated_at: new Date(client.updatedAt).toISOString(),
  };
}

/** The partners of these clients, by partner id. */
export async function partnersOf(store: Store, clients: readonly Client[]): Promise<Map<string, Partner>> {
  const partners = new Map<string, Partner>();
  for (const client of clients) {
    if (client.partnerId && !partners.has(client.partnerId)) {
      const partner = await store.findPartner(client.partnerId);
      if (partner) partners.set(partner.id, partner);
    }
  }
  return partners;
}
