/**
 * The admin API's request and response shapes (zod). Requests are validated
 * with them (unknown fields are refused, so a misspelt field is an error, not
 * a silent no-op); the OpenAPI description is generated from the same schemas.
 * Meaning (a redirect URL's rules, the legacy rule, uniqueness) is checked by
 * the services, the same for the CLI and the console.
 */
import { z } from 'zod';
import { SUPPORTED_GRANT_TYPES } from '../../services/clients.js';

const isoTime = z.iso.datetime().describe('A UTC time (ISO 8601).');
const nullableTime = isoTime.nullable();
/** A whole number in a query string. */
const wholeQuery = (description: string) =>
  z
    .string()
    .regex(/^\d{1,9}$/, 'Must be a whole number.')
    .transform(Number)
    .optional()
    .describe(description);
const booleanQuery = (description: string) =>
  z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional()
    .describe(description);
const month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'Must be a month such as 2025-03.');

// ---- Path parameters ---------------------------------------------------------------

export const ClientParams = z.strictObject({ client_id: z.string().regex(/^lkc_[A-Za-z0-9_-]{1,64}$/).describe('The client ID (lkc_...).') });
export const PartnerParams = z.strictObject({
  partner: z.string().min(1).max(100).describe('The partner, by its partner_portal_id or its partner ID (ptn_...).'),
});
export const UserParams = z.strictObject({ user: z.string().min(1).max(254).describe('The user, by user ID (usr_...) or email address.') });
export const GrantParams = z.strictObject({ grant_id: z.string().regex(/^grt_[A-Za-z0-9_-]{1,64}$/).describe('The connection (grant) ID.') });
export const ScopeParams = z.strictObject({ name: z.string().min(1).max(100).describe('The scope name, URL-encoded.') });
export const TokenParams = z.strictObject({ token_id: z.string().regex(/^adt_[A-Za-z0-9_-]{1,64}$/).describe('The admin API token ID (adt_...).') });

// ---- Clients -----------------------------------------------------------------------

const ttl = (what: string, max: string) =>
  z.number().nullable().optional().describe(`${what} lifetime in whole seconds (1 to ${max}); null for the server default.`);

export const ClientCreate = z.strictObject({
  name: z.string().describe('The application name users see on the consent page (1 to 200 characters).'),
  redirect_uris: z
    .array(z.string())
    .optional()
    .describe('Absolute https URLs, or http on a loopback host (localhost, 127.0.0.1, [::1]); no fragment. Required with the authorization_code grant.'),
  scopes: z.array(z.string()).optional().describe('Scopes the client may request; unknown ones are added to the registry.'),
  grant_types: z.array(z.enum(SUPPORTED_GRANT_TYPES)).optional().describe('Default: authorization_code and refresh_token.'),
  public: z.boolean().optional().describe('A public client has no secret and must use PKCE. Default false.'),
  legacy: z.boolean().optional().describe('Direct login (the deprecated password grant). Refused for a new client unless allow_new_legacy is true.'),
  allow_new_legacy: z.boolean().optional().describe('The operator’s explicit override of the legacy rule (recorded in the audit log).'),
  access_token_ttl: ttl('Access token', '86400'),
  refresh_token_ttl: ttl('Refresh token', '34560000'),
  access_token_format: z.enum(['opaque', 'jwt']).nullable().optional().describe('null: the server default.'),
  resource_server: z.boolean().optional().describe('May introspect every access token (RFC 7662).'),
  partner_portal_id: z.string().nullable().optional().describe('The partner behind the client.'),
});

export const ClientUpdate = ClientCreate.omit({ public: true })
  .partial()
  .describe('Only the fields given change. legacy: true on a client that is not legacy needs allow_new_legacy. partner_portal_id: null unlinks.');

export const Client = z.object({
  client_id: z.string(),
  name: z.string(),
  redirect_uris: z.array(z.string()),
  scopes: z.array(z.string()),
  grant_types: z.array(z.string()),
  public: z.boolean(),
  legacy: z.boolean(),
  access_token_ttl: z.number().int().nullable(),
  refresh_token_ttl: z.number().int().nullable(),
  access_token_format: z.enum(['opaque', 'jwt']).nullable(),
  resource_server: z.boolean(),
  partner_portal_id: z.string().nullable(),
  created_at: isoTime,
  updated_at: isoTime,
});

export const ClientDetail = Client.extend({
  live_connections: z.number().int().describe('Connections not revoked.'),
  secrets: z
    .array(z.object({ created_at: isoTime, expires_at: nullableTime }))
    .describe('The secrets that work now, newest first (two during a rotation overlap); never the secrets themselves.'),
});

export const ClientCreated = Client.extend({
  client_secret: z.string().nullable().describe('Shown only in this response (null for a public client); only its SHA-256 is stored.'),
});

export const ClientList = z.object({ clients: z.array(Client), total: z.number().int() });

export const ClientSearchQuery = z.strictObject({
  q: z.string().max(200).optional().describe('Part of the name, or the whole client ID.'),
  partner: z.string().max(100).optional().describe('Only clients of this partner (partner_portal_id).'),
  limit: wholeQuery('At most this many (1 to 500, default 50).'),
  offset: wholeQuery('Skip this many.'),
});

export const RotateSecret = z.strictObject({
  overlap_seconds: z.number().optional().describe('How long the previous secret keeps working (default: the server setting, 24 h; at most 30 days).'),
});

export const SecretRotated = z.object({
  client_id: z.string(),
  client_secret: z.string().describe('Shown only in this response.'),
  previous_secret_expires_at: isoTime,
});

export const ClientDestroyed = z.object({
  client_id: z.string(),
  destroyed: z.literal(true),
  revoked: z.object({ connections: z.number().int() }),
});

// ---- Connections -------------------------------------------------------------------

export const Connection = z.object({
  grant_id: z.string(),
  client_id: z.string(),
  client_name: z.string().nullable(),
  client_destroyed: z.boolean(),
  user_id: z.string().nullable().describe('null for a client’s own (client credentials) connection.'),
  user_email: z.string().nullable(),
  account_id: z.string().nullable(),
  account_name: z.string().nullable(),
  account_kind: z.string().nullable(),
  scopes: z.array(z.string()),
  created_at: isoTime,
  last_used_at: nullableTime,
  revoked_at: nullableTime,
  revoked_reason: z.string().nullable(),
});

export const ConnectionList = z.object({ connections: z.array(Connection) });

export const ConnectionQuery = z.strictObject({
  include_revoked: booleanQuery('Include revoked connections (default false).'),
  limit: wholeQuery('At most this many (1 to 500, default 50).'),
  offset: wholeQuery('Skip this many.'),
});

export const RevokeConnection = z.strictObject({ reason: z.string().max(500).optional().describe('A note for the audit log.') });

export const ConnectionRevoked = z.object({ connection: Connection, already_revoked: z.boolean() });

// ---- Partners ----------------------------------------------------------------------

export const PartnerCreate = z.strictObject({
  name: z.string().describe('The partner company (1 to 200 characters).'),
  partner_portal_id: z.string().describe('The identifier the partner sends: 1 to 100 letters, digits, dots, dashes or underscores; unique.'),
});

export const PartnerUpdate = PartnerCreate.partial();

export const Partner = z.object({ partner_id: z.string(), name: z.string(), partner_portal_id: z.string(), created_at: isoTime });

export const PartnerSummary = Partner.extend({
  clients: z.number().int().describe('Live clients linked to the partner.'),
  accounts: z.number().int().describe('Accounts created through the partner.'),
  connections: z.number().int().describe('Connections made by its clients, revoked ones included.'),
});

export const PartnerList = z.object({ partners: z.array(PartnerSummary) });

export const ReportQuery = z.strictObject({
  from: month.optional().describe('First month (default: eleven months before `to`).'),
  to: month.optional().describe('Last month, inclusive (default: this month, UTC).'),
});

export const ExportQuery = ReportQuery.extend({
  kind: z.enum(['monthly', 'accounts', 'connections']).optional().describe('The monthly counts (default), or the accounts or connections themselves.'),
});

export const PartnerReport = z.object({
  partner: Partner,
  from: z.string(),
  to: z.string(),
  months: z.array(z.object({ month: z.string(), accounts: z.number().int(), connections: z.number().int() })),
  totals: z.object({ accounts: z.number().int(), connections: z.number().int() }),
});

export const PartnerAccountList = z.object({
  accounts: z.array(z.object({ account_id: z.string(), name: z.string(), kind: z.string(), members: z.number().int(), created_at: isoTime })),
});

export const RangeQuery = ReportQuery.extend({ limit: wholeQuery('At most this many (1 to 1000, default 100).') });

// ---- Users -------------------------------------------------------------------------

export const UserCreate = z.strictObject({
  email: z.string().describe('Sign-in email, unique (case-insensitive).'),
  password: z.string().describe('At least 10 characters, not the name or email.'),
  first_name: z.string().optional(),
  last_name: z.string().optional(),
  admin: z.boolean().optional().describe('May use the admin console.'),
  accounts: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(100),
        kind: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'A short lowercase word, such as company or participant.'),
      }),
    )
    .max(20)
    .optional()
    .describe('Accounts to create for the user (default: one personal account).'),
});

export const User = z.object({
  user_id: z.string(),
  email: z.string(),
  first_name: z.string(),
  last_name: z.string(),
  admin: z.boolean(),
  locked: z.boolean(),
  locked_at: nullableTime,
  created_at: isoTime,
});

export const Account = z.object({
  account_id: z.string(),
  name: z.string(),
  kind: z.string(),
  partner_portal_id: z.string().nullable().describe('The partner the account was created through.'),
  created_at: isoTime,
});

export const UserList = z.object({ users: z.array(User), total: z.number().int() });
export const UserDetail = z.object({ user: User, accounts: z.array(Account), connections: z.array(Connection) });
export const UserCreated = z.object({ user: User, accounts: z.array(Account) });

export const UserSearchQuery = z.strictObject({
  q: z.string().max(200).optional().describe('Part of the email or name, or the whole user ID.'),
  limit: wholeQuery('At most this many (1 to 500, default 50).'),
  offset: wholeQuery('Skip this many.'),
});

export const LockUser = z.strictObject({
  reason: z.string().max(500).optional().describe('A note for the audit log.'),
  revoke_connections: z.boolean().optional().describe('Also revoke every app the user connected.'),
});

export const UserLocked = z.object({ user: User, sessions_ended: z.number().int(), connections_revoked: z.number().int() });
export const UserUnlocked = z.object({ user: User });
export const UnlockUser = z.strictObject({}).describe('No fields; the body may be empty.');

// ---- Audit log ---------------------------------------------------------------------

export const AuditQuery = z.strictObject({
  type: z.string().optional().describe('Event types, comma-separated; client.* (or client.) for a family.'),
  actor: z.string().optional().describe('Who: a user ID, an admin token ID (adt_...), cli:NAME, or a client ID.'),
  subject: z.string().optional().describe('What the event is about: a client, user, grant, partner, token or scope.'),
  from: z.string().optional().describe('ISO 8601 date or date-time (UTC); a date alone includes that day.'),
  to: z.string().optional().describe('ISO 8601 date or date-time (UTC); a date alone includes that day.'),
  before: z.string().optional().describe('next_before of the previous page.'),
  limit: z.string().optional().describe('1 to 500, default 50.'),
});

export const AuditEvent = z.object({
  id: z.number().int(),
  at: isoTime,
  type: z.string(),
  actor: z.string().nullable(),
  ip: z.string().nullable(),
  subject: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()),
});

export const AuditPage = z.object({ events: z.array(AuditEvent), next_before: z.number().int().nullable().describe('Pass as before for older events; null on the last page.') });
export const AuditTypes = z.object({ types: z.array(z.string()) });

// ---- Scopes ------------------------------------------------------------------------

export const ScopeSet = z.strictObject({
  description: z.string().optional().describe('What users read on the consent page (1 to 200 characters); required for a new scope.'),
  default: z.boolean().optional().describe('Granted when a client asks for no scope.'),
});

export const Scope = z.object({ name: z.string(), description: z.string(), default: z.boolean(), clients: z.number().int().optional() });
export const ScopeList = z.object({ scopes: z.array(Scope) });
export const ScopeDeleted = z.object({ name: z.string(), deleted: z.literal(true) });

// ---- Admin API tokens --------------------------------------------------------------

export const TokenCreate = z.strictObject({
  name: z.string().describe('What uses the token (1 to 100 characters).'),
  expires_in_days: z.number().nullable().optional().describe('1 to 3650; null or absent: never.'),
});

export const AdminToken = z.object({
  token_id: z.string(),
  name: z.string(),
  created_by: z.string().nullable().describe('The admin user it belongs to; null when made with the CLI.'),
  created_at: isoTime,
  expires_at: nullableTime,
  last_used_at: nullableTime,
  last_used_ip: z.string().nullable(),
  revoked_at: nullableTime,
  status: z.enum(['active', 'revoked', 'expired']),
});

export const TokenCreated = AdminToken.extend({ token: z.string().describe('lk_adm_...: shown only in this response; only its SHA-256 is stored.') });
export const TokenList = z.object({ tokens: z.array(AdminToken) });
export const TokenRevoked = z.object({ token: AdminToken, already_revoked: z.boolean() });

// ---- Errors ------------------------------------------------------------------------

export const ApiError = z.object({
  error: z.string().describe('invalid_request, unauthorized, invalid_token, not_found, ...'),
  error_description: z.string(),
  fields: z.record(z.string(), z.string()).optional().describe('For invalid_request: each field at fault, with its problem.'),
});
