/** The admin console's OAuth client pages: list, new, summary with the secret, detail, edit, rotate, destroy. */
import type { Client, Partner, Scope } from '../../core/model.js';
import type { GrantRecord } from '../../store/admin.js';
import { html, type SafeHtml } from '../html.js';
import {
  type AdminFrame,
  adminPage,
  badge,
  checkbox,
  csrfField,
  type FieldErrors,
  notice,
  pager,
  problem,
  selectField,
  shownOnce,
  textArea,
  textField,
  when,
} from './common.js';

export const GRANT_TYPE_LABELS: Array<[string, string]> = [
  ['authorization_code', 'Authorization code: users connect their accounts'],
  ['refresh_token', 'Refresh token: the connection lasts beyond the access token'],
  ['client_credentials', 'Client credentials: the client’s own access, without a user'],
  ['password', 'Password (direct login): deprecated, legacy clients only'],
];

/** What the client form shows: the submitted values, or the client's. */
export interface ClientFormValues {
  name: string;
  redirectUris: string;
  scopes: string[];
  grantTypes: string[];
  isPublic: boolean;
  legacy: boolean;
  allowNewLegacy: boolean;
  accessTokenTtl: string;
  refreshTokenTtl: string;
  accessTokenFormat: string;
  resourceServer: boolean;
  partnerPortalId: string;
}

export function clientFormValues(client: Client | undefined, partners: readonly Partner[]): ClientFormValues {
  if (!client) {
    return {
      name: '',
      redirectUris: '',
      scopes: [],
      grantTypes: ['authorization_code', 'refresh_token'],
      isPublic: false,
      legacy: false,
      allowNewLegacy: false,
      accessTokenTtl: '',
      refreshTokenTtl: '',
      accessTokenFormat: '',
      resourceServer: false,
      partnerPortalId: '',
    };
  }
  return {
    name: client.name,
    redirectUris: client.redirectUris.join('\n'),
    scopes: client.scopes,
    grantTypes: client.grantTypes,
    isPublic: client.isPublic,
    legacy: client.isLegacy,
    allowNewLegacy: false,
    accessTokenTtl: client.accessTokenTtlSeconds === null ? '' : String(client.accessTokenTtlSeconds),
    refreshTokenTtl: client.refreshTokenTtlSeconds === null ? '' : String(client.refreshTokenTtlSeconds),
    accessTokenFormat: client.accessTokenFormat ?? '',
    resourceServer: client.isResourceServer ?? false,
    partnerPortalId: partners.find((partner) => partner.id === client.partnerId)?.partnerPortalId ?? '',
  };
}

function typeOf(client: Client): SafeHtml {
  return html`${client.isPublic ? 'Public' : 'Confidential'}${client.isLegacy ? html` ${badge('legacy', 'warn')}` : ''}${
    client.isResourceServer ? html` ${badge('resource server')}` : ''
  }`;
}

export function clientListPage(input: {
  frame: AdminFrame;
  clients: Client[];
  total: number;
  offset: number;
  limit: number;
  q: string;
  partner: string;
  partners: Partner[];
  connections: Map<string, number>;
  notice?: string | undefined;
  error?: string | undefined;
}): string {
  const partnerName = (id: string | null) => (id ? input.partners.find((partner) => partner.id === id)?.name : undefined);
  return adminPage(
    input.frame,
    'clients',
    'OAuth clients',
    html`<div class="title-row">
  <h1>OAuth clients</h1>
  <a class="button" href="/admin/clients/new">New OAuth client</a>
</div>
<p class="lead">The applications that may ask users to connect their accounts.</p>
${notice(input.notice)}
${problem(input.error)}
<form class="toolbar" method="get" action="/admin/clients" role="search">
  <div class="field">
    <label for="client-search">Search clients</label>
    <input id="client-search" name="q" type="search" value="${input.q}" maxlength="200" placeholder="Name or client ID">
  </div>
  <div class="field">
    <label for="client-partner">Partner</label>
    <select id="client-partner" name="partner">
      <option value="">Any partner</option>
      ${input.partners.map(
        (partner) =>
          html`<option value="${partner.partnerPortalId}"${partner.partnerPortalId === input.partner ? html` selected` : ''}>${partner.name}</option>`,
      )}
    </select>
  </div>
  <button type="submit" class="secondary">Search</button>
</form>
${
  input.clients.length === 0
    ? html`<p class="empty">${input.q || input.partner ? 'No client matches.' : 'No clients yet. Register the first one with New OAuth client.'}</p>`
    : html`<div class="table-wrap"><table class="table">
  <caption class="visually-hidden">OAuth clients</caption>
  <thead><tr><th scope="col">Name</th><th scope="col">Client ID</th><th scope="col">Type</th><th scope="col">Partner</th><th scope="col">Connections</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>
  ${input.clients.map(
    (client) => html`<tr>
    <th scope="row"><a href="/admin/clients/${client.id}">${client.name}</a></th>
    <td><code>${client.id}</code></td>
    <td>${typeOf(client)}</td>
    <td>${partnerName(client.partnerId) ?? html`<span class="muted">—</span>`}</td>
    <td>${input.connections.get(client.id) ?? 0}</td>
    <td>${when(client.createdAt)}</td>
    <td class="row-actions"><a href="/admin/clients/${client.id}/edit">Edit<span class="visually-hidden"> ${client.name}</span></a> <a class="danger-link" href="/admin/clients/${client.id}/destroy">Destroy<span class="visually-hidden"> ${client.name}</span></a></td>
  </tr>`,
  )}
  </tbody>
</table></div>`
}
${pager('/admin/clients', { q: input.q, partner: input.partner }, input.offset, input.limit, input.total)}`,
  );
}

/** The new and edit forms: one form, so both show the same fields and rules. */
export function clientFormPage(input: {
  frame: AdminFrame;
  client?: Client | undefined;
  values: ClientFormValues;
  errors?: FieldErrors;
  scopes: readonly Scope[];
  partners: Partner[];
}): string {
  const { values, client } = input;
  const errors = input.errors ?? {};
  const editing = client !== undefined;
  const title = editing ? `Edit ${client.name}` : 'New OAuth client';
  const scopeNames = [...new Set([...input.scopes.map((scope) => scope.name), ...values.scopes])];
  const description = (name: string) => input.scopes.find((scope) => scope.name === name)?.description;
  const group = (key: string, legend: string, content: SafeHtml, hint?: string) => html`<fieldset class="field group"${
    errors[key] ? html` aria-describedby="${key}-error"` : ''
  }>
  <legend>${legend}</legend>
  ${hint ? html`<p class="hint">${hint}</p>` : ''}
  ${content}
  ${errors[key] ? html`<p class="field-error" id="${key}-error">${errors[key]}</p>` : ''}
</fieldset>`;
  const legacyHint = client?.isLegacy
    ? 'This client has direct login. Clear it to retire the deprecated grant; it cannot be given back without an override.'
    : 'Direct login lets the client send a user’s password (the deprecated password grant). New clients may not have it.';
  return adminPage(
    input.frame,
    'clients',
    title,
    html`<p class="crumbs"><a href="/admin/clients">OAuth clients</a>${editing ? html` / <a href="/admin/clients/${client.id}">${client.name}</a>` : ''}</p>
<h1>${title}</h1>
${Object.keys(errors).length > 0 ? problem('Please correct the fields marked below.') : ''}
<form method="post" action="${editing ? `/admin/clients/${client.id}` : '/admin/clients'}" class="admin-form" novalidate>
  ${csrfField(input.frame)}
  ${textField({ name: 'name', label: 'Name', value: values.name, error: errors.name, hint: 'The application name users see on the consent page.', attributes: html`maxlength="200"` })}
  ${textArea({
    name: 'redirect_uris',
    label: 'Redirect URLs',
    value: values.redirectUris,
    error: errors.redirect_uris,
    hint: 'One per line. Where users return after they approve: https, or http on localhost or 127.0.0.1 for development; no #fragment.',
    rows: 3,
  })}
  ${group(
    'scopes',
    'Allowed scopes',
    scopeNames.length === 0
      ? html`<p class="muted">No scopes are registered yet. Add them on the <a href="/admin/scopes">Scopes</a> page.</p>`
      : html`<div class="checks">${scopeNames.map((name) =>
          checkbox({
            name: `scope.${name}`,
            id: `scope-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`,
            label: html`<code>${name}</code> ${description(name) ?? ''}`,
            checked: values.scopes.includes(name),
          }),
        )}</div>`,
  )}
  ${group(
    'grant_types',
    'Grant types',
    html`<div class="checks">${GRANT_TYPE_LABELS.map(([type, label]) => checkbox({ name: `grant_type.${type}`, id: `grant-${type}`, label, checked: values.grantTypes.includes(type) }))}</div>`,
  )}
  ${
    editing
      ? html`<div class="field"><p class="label-like">Client type</p><p>${client.isPublic ? 'Public (no secret; PKCE required)' : 'Confidential (has a secret)'}</p><p class="hint">Register a new client to change it.</p></div>`
      : group(
          'public',
          'Client type',
          html`<div class="checks">
      <div class="check"><input type="radio" id="type-confidential" name="client_type" value="confidential"${values.isPublic ? '' : html` checked`}><label for="type-confidential">Confidential: a server that keeps a secret</label></div>
      <div class="check"><input type="radio" id="type-public" name="client_type" value="public"${values.isPublic ? html` checked` : ''}><label for="type-public">Public: a browser or mobile app; no secret, PKCE required</label></div>
    </div>`,
        )
  }
  ${group(
    'legacy',
    'Legacy',
    html`${checkbox({ name: 'legacy', label: 'Direct login allowed (legacy client)', checked: values.legacy, hint: legacyHint })}
    ${
      client?.isLegacy
        ? ''
        : checkbox({
            name: 'allow_new_legacy',
            label: 'Override: allow direct login for this client anyway',
            checked: values.allowNewLegacy,
            hint: 'Only for an existing integration that cannot move to the authorization code flow yet. The override is recorded in the audit log.',
          })
    }`,
  )}
  <div class="row">
  ${textField({
    name: 'access_token_ttl',
    label: 'Access token lifetime (seconds)',
    value: values.accessTokenTtl,
    error: errors.access_token_ttl,
    hint: 'Empty: the server default.',
    type: 'number',
    attributes: html`min="1" step="1" inputmode="numeric"`,
  })}
  ${textField({
    name: 'refresh_token_ttl',
    label: 'Refresh token lifetime (seconds)',
    value: values.refreshTokenTtl,
    error: errors.refresh_token_ttl,
    hint: 'Empty: the server default.',
    type: 'number',
    attributes: html`min="1" step="1" inputmode="numeric"`,
  })}
  </div>
  ${selectField({
    name: 'access_token_format',
    label: 'Access token format',
    options: [
      { value: '', label: 'Server default' },
      { value: 'opaque', label: 'Opaque' },
      { value: 'jwt', label: 'JWT (RFC 9068)' },
    ],
    selected: values.accessTokenFormat,
    error: errors.access_token_format,
  })}
  ${selectField({
    name: 'partner_portal_id',
    label: 'Partner',
    options: [{ value: '', label: 'None' }, ...input.partners.map((partner) => ({ value: partner.partnerPortalId, label: `${partner.name} (${partner.partnerPortalId})` }))],
    selected: values.partnerPortalId,
    error: errors.partner_portal_id,
    hint: 'The partner credited with the connections this client makes.',
  })}
  ${group(
    'resource_server',
    'Resource server',
    checkbox({ name: 'resource_server', label: 'May introspect every access token (a resource server)', checked: values.resourceServer }),
  )}
  <div class="actions">
    <button type="submit">${editing ? 'Update' : 'Create client'}</button>
    <a class="button secondary" href="${editing ? `/admin/clients/${client.id}` : '/admin/clients'}">Cancel</a>
  </div>
</form>`,
  );
}

export type SecretInfo = { createdAt: number; expiresAt: number | null };

function secretsText(secrets: SecretInfo[]): SafeHtml {
  if (secrets.length === 0) return html`<span class="muted">None</span>`;
  const ending = secrets.filter((secret) => secret.expiresAt !== null).sort((a, b) => (a.expiresAt ?? 0) - (b.expiresAt ?? 0));
  return html`${secrets.length} working${
    ending.length > 0 ? html` · the previous one stops working ${when(ending[0]?.expiresAt ?? null)}` : html` · issued ${when(secrets[0]?.createdAt ?? null)}`
  }`;
}

function clientFacts(client: Client, partner: Partner | undefined, secrets?: SecretInfo[]): SafeHtml {
  return html`<dl class="facts">
  <dt>Client ID</dt><dd><code>${client.id}</code></dd>
  <dt>Type</dt><dd>${typeOf(client)}</dd>
  ${secrets && !client.isPublic ? html`<dt>Secrets</dt><dd>${secretsText(secrets)}</dd>` : ''}
  <dt>Redirect URLs</dt><dd>${client.redirectUris.length === 0 ? html`<span class="muted">None</span>` : html`<ul class="plain">${client.redirectUris.map((uri) => html`<li><code>${uri}</code></li>`)}</ul>`}</dd>
  <dt>Scopes</dt><dd>${client.scopes.length === 0 ? html`<span class="muted">None</span>` : client.scopes.map((scope) => html`<code>${scope}</code> `)}</dd>
  <dt>Grant types</dt><dd>${client.grantTypes.length === 0 ? html`<span class="muted">None</span>` : client.grantTypes.map((type) => html`<code>${type}</code> `)}</dd>
  <dt>Token lifetimes</dt><dd>access ${client.accessTokenTtlSeconds === null ? 'server default' : `${client.accessTokenTtlSeconds} s`}, refresh ${
    client.refreshTokenTtlSeconds === null ? 'server default' : `${client.refreshTokenTtlSeconds} s`
  }</dd>
  <dt>Access tokens</dt><dd>${client.accessTokenFormat ?? 'server default'}</dd>
  <dt>Partner</dt><dd>${partner ? html`<a href="/admin/partners/${partner.id}">${partner.name}</a> <code>${partner.partnerPortalId}</code>` : html`<span class="muted">None</span>`}</dd>
  <dt>Created</dt><dd>${when(client.createdAt)}</dd>
  <dt>Updated</dt><dd>${when(client.updatedAt)}</dd>
</dl>`;
}

/** After "Create client": the summary, with the Client ID and (confidential clients) the Secret, shown this once. */
export function clientCreatedPage(input: { frame: AdminFrame; client: Client; secret: string | undefined; partner: Partner | undefined }): string {
  const { client, secret } = input;
  return adminPage(
    input.frame,
    'clients',
    `${client.name} registered`,
    html`<p class="crumbs"><a href="/admin/clients">OAuth clients</a></p>
<h1>${client.name} is registered</h1>
<p class="lead">Use the Client ID${secret ? ' and Secret' : ''} in the third-party application.</p>
${shownOnce('client-id', 'Client ID', client.id)}
${
  secret
    ? html`${shownOnce('client-secret', 'Secret', secret)}
<p class="warning" role="note"><strong>The secret is shown only now.</strong> Copy it into the application’s configuration before you leave this page: only its hash is stored, so it cannot be shown again. If it is lost, rotate the secret.</p>`
    : html`<p class="muted">A public client has no secret: it proves itself with PKCE.</p>`
}
<h2>Summary</h2>
${clientFacts(client, input.partner)}
<div class="actions"><a class="button" href="/admin/clients/${client.id}">Done</a><a class="button secondary" href="/admin/clients/new">Register another</a></div>`,
    { script: true },
  );
}

export const OVERLAP_CHOICES: Array<[number, string]> = [
  [0, 'None: the old secret stops now'],
  [3600, '1 hour'],
  [86_400, '24 hours'],
  [7 * 86_400, '7 days'],
  [30 * 86_400, '30 days'],
];

export function clientDetailPage(input: {
  frame: AdminFrame;
  client: Client;
  partner: Partner | undefined;
  connections: GrantRecord[];
  liveConnections: number;
  secrets: SecretInfo[];
  defaultOverlapSeconds: number;
  notice?: string | undefined;
  error?: string | undefined;
}): string {
  const { client } = input;
  const overlaps = OVERLAP_CHOICES.some(([seconds]) => seconds === input.defaultOverlapSeconds)
    ? OVERLAP_CHOICES
    : [...OVERLAP_CHOICES, [input.defaultOverlapSeconds, `${input.defaultOverlapSeconds} seconds (the server setting)`] as [number, string]];
  return adminPage(
    input.frame,
    'clients',
    client.name,
    html`<p class="crumbs"><a href="/admin/clients">OAuth clients</a></p>
<div class="title-row">
  <h1>${client.name}</h1>
  <div class="title-actions"><a class="button secondary" href="/admin/clients/${client.id}/edit">Edit</a><a class="button danger" href="/admin/clients/${client.id}/destroy">Destroy</a></div>
</div>
${notice(input.notice)}
${problem(input.error)}
${clientFacts(client, input.partner, input.secrets)}
${
  client.isPublic
    ? ''
    : html`<section aria-labelledby="rotate-heading" class="panel">
  <h2 id="rotate-heading">Rotate secret</h2>
  <p>Issues a new secret, shown once. The current secret keeps working for the overlap you choose, so the application can switch without downtime.</p>
  <form method="post" action="/admin/clients/${client.id}/rotate-secret" class="inline-form">
    ${csrfField(input.frame)}
    ${selectField({
      name: 'overlap_seconds',
      label: 'The old secret keeps working for',
      options: overlaps.map(([seconds, label]) => ({ value: String(seconds), label })),
      selected: String(input.defaultOverlapSeconds),
    })}
    <button type="submit">Rotate secret</button>
  </form>
</section>`
}
<section aria-labelledby="connections-heading">
  <h2 id="connections-heading">Connections <span class="count">${input.liveConnections} live</span></h2>
  ${connectionTable(input.frame, input.connections, { showClient: false, returnTo: `/admin/clients/${client.id}` })}
</section>`,
  );
}

export function secretRotatedPage(input: { frame: AdminFrame; client: Client; secret: string; previousUntil: number; now: number }): string {
  return adminPage(
    input.frame,
    'clients',
    `New secret for ${input.client.name}`,
    html`<p class="crumbs"><a href="/admin/clients">OAuth clients</a> / <a href="/admin/clients/${input.client.id}">${input.client.name}</a></p>
<h1>New secret for ${input.client.name}</h1>
${shownOnce('client-id', 'Client ID', input.client.id)}
${shownOnce('client-secret', 'Secret', input.secret)}
<p class="warning" role="note"><strong>The secret is shown only now.</strong> ${
      input.previousUntil > input.now
        ? html`The previous secret keeps working until ${when(input.previousUntil)}; update the application before then.`
        : 'The previous secret has stopped working.'
    }</p>
<div class="actions"><a class="button" href="/admin/clients/${input.client.id}">Done</a></div>`,
    { script: true },
  );
}

export function destroyConfirmPage(input: { frame: AdminFrame; client: Client; liveConnections: number }): string {
  const { client } = input;
  return adminPage(
    input.frame,
    'clients',
    `Destroy ${client.name}?`,
    html`<p class="crumbs"><a href="/admin/clients">OAuth clients</a> / <a href="/admin/clients/${client.id}">${client.name}</a></p>
<h1>Destroy ${client.name}?</h1>
<div class="panel danger-panel">
<p>Destroying <strong>${client.name}</strong> (<code>${client.id}</code>) cannot be undone:</p>
<ul>
  <li>its ${input.liveConnections} live connection${input.liveConnections === 1 ? '' : 's'} ${input.liveConnections === 1 ? 'is' : 'are'} revoked, and every access and refresh token it holds stops working at once;</li>
  <li>its secret is deleted, so it can no longer sign in to the token endpoint;</li>
  <li>users who start connecting it are told it is no longer registered.</li>
</ul>
<p>Reports and the audit log keep its name.</p>
<form method="post" action="/admin/clients/${client.id}/destroy">
  ${csrfField(input.frame)}
  <div class="actions">
    <button type="submit" class="danger">Destroy</button>
    <a class="button secondary" href="/admin/clients/${client.id}">Cancel</a>
  </div>
</form>
</div>`,
  );
}

/** Connections with a Revoke button on the live ones. */
export function connectionTable(
  frame: AdminFrame,
  connections: GrantRecord[],
  options: { showClient: boolean; showUser?: boolean; returnTo: string },
): SafeHtml {
  if (connections.length === 0) return html`<p class="empty">No connections.</p>`;
  return html`<div class="table-wrap"><table class="table">
  <caption class="visually-hidden">Connections</caption>
  <thead><tr>${options.showClient ? html`<th scope="col">App</th>` : ''}${options.showUser === false ? '' : html`<th scope="col">User</th>`}<th scope="col">Account</th><th scope="col">Scopes</th><th scope="col">Connected</th><th scope="col">Last used</th><th scope="col">Status</th></tr></thead>
  <tbody>
  ${connections.map(
    (grant) => html`<tr>
    ${
      options.showClient
        ? html`<td>${grant.clientDestroyed ? html`${grant.clientName ?? grant.clientId} ${badge('destroyed', 'danger')}` : html`<a href="/admin/clients/${grant.clientId}">${grant.clientName ?? grant.clientId}</a>`}</td>`
        : ''
    }
    ${options.showUser === false ? '' : html`<td>${grant.userId ? html`<a href="/admin/users/${grant.userId}">${grant.userEmail ?? grant.userId}</a>` : html`<span class="muted">the client itself</span>`}</td>`}
    <td>${grant.accountName ?? html`<span class="muted">—</span>`}${grant.accountKind ? html` <span class="kind">(${grant.accountKind})</span>` : ''}</td>
    <td>${grant.scopes.map((scope) => html`<code>${scope}</code> `)}</td>
    <td>${when(grant.createdAt)}</td>
    <td>${when(grant.lastUsedAt, 'not yet')}</td>
    <td>${
      grant.revokedAt === null
        ? html`<form method="post" action="/admin/grants/${grant.id}/revoke" class="inline">
        ${csrfField(frame)}
        <input type="hidden" name="return_to" value="${options.returnTo}">
        <button type="submit" class="danger small">Revoke<span class="visually-hidden"> the connection of ${grant.clientName ?? grant.clientId} to ${grant.accountName ?? 'the account'}</span></button>
      </form>`
        : html`${badge('revoked', 'neutral')} <span class="small muted">${when(grant.revokedAt)}${grant.revokedReason ? ` · ${grant.revokedReason.replace(/_/g, ' ')}` : ''}</span>`
    }</td>
  </tr>`,
  )}
  </tbody>
</table></div>`;
}
