/** The admin console's scope registry and admin API tokens. */
import type { AdminToken } from '../../store/admin.js';
import type { ScopeWithUse } from '../../services/scopes.js';
import { adminTokenStatus } from '../../services/admin-tokens.js';
import { html } from '../html.js';
import { type AdminFrame, adminPage, badge, checkbox, csrfField, type FieldErrors, notice, problem, shownOnce, textField, when } from './common.js';

export function scopesPage(input: {
  frame: AdminFrame;
  scopes: ScopeWithUse[];
  values?: { name: string; description: string; isDefault: boolean };
  editing?: boolean;
  errors?: FieldErrors;
  notice?: string | undefined;
  error?: string | undefined;
}): string {
  const errors = input.errors ?? {};
  const values = input.values ?? { name: '', description: '', isDefault: false };
  return adminPage(
    input.frame,
    'scopes',
    'Scopes',
    html`<h1>Scopes</h1>
<p class="lead">What clients may ask for. Users read each description on the consent page; default scopes are granted when a client asks for none.</p>
${notice(input.notice)}
${problem(input.error)}
${
  input.scopes.length === 0
    ? html`<p class="empty">No scopes yet.</p>`
    : html`<div class="table-wrap"><table class="table">
  <caption class="visually-hidden">Scopes</caption>
  <thead><tr><th scope="col">Scope</th><th scope="col">Description on the consent page</th><th scope="col">Default</th><th scope="col">Clients</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>
  ${input.scopes.map(
    (scope) => html`<tr>
    <th scope="row"><code>${scope.name}</code></th>
    <td>${scope.description}</td>
    <td>${scope.isDefault ? badge('default', 'ok') : html`<span class="muted">no</span>`}</td>
    <td>${scope.clients}</td>
    <td class="row-actions">
      <a href="/admin/scopes?edit=${encodeURIComponent(scope.name)}#scope-form">Edit<span class="visually-hidden"> ${scope.name}</span></a>
      ${
        scope.clients === 0
          ? html`<form method="post" action="/admin/scopes/delete" class="inline">
        ${csrfField(input.frame)}
        <input type="hidden" name="name" value="${scope.name}">
        <button type="submit" class="danger small">Delete<span class="visually-hidden"> ${scope.name}</span></button>
      </form>`
          : html`<span class="muted small">in use</span>`
      }
    </td>
  </tr>`,
  )}
  </tbody>
</table></div>`
}
<section class="panel" aria-labelledby="scope-form">
  <h2 id="scope-form">${input.editing ? `Edit ${values.name}` : 'Add a scope'}</h2>
  ${Object.keys(errors).length > 0 ? problem('Please correct the fields marked below.') : ''}
  <form method="post" action="/admin/scopes" class="admin-form" novalidate>
    ${csrfField(input.frame)}
    ${
      input.editing
        ? html`<input type="hidden" name="name" value="${values.name}"><p><code>${values.name}</code></p>`
        : textField({ name: 'name', label: 'Name', value: values.name, error: errors.name, hint: 'As clients send it, e.g. invoices:read.', attributes: html`maxlength="100"` })
    }
    ${textField({ name: 'description', label: 'Description', value: values.description, error: errors.description, hint: 'What the user allows, in their words, e.g. “See your invoices”.', attributes: html`maxlength="200"` })}
    ${checkbox({ name: 'default', label: 'Default scope', checked: values.isDefault })}
    <div class="actions"><button type="submit">${input.editing ? 'Update' : 'Add scope'}</button>${input.editing ? html`<a class="button secondary" href="/admin/scopes">Cancel</a>` : ''}</div>
  </form>
</section>`,
  );
}

export function tokensPage(input: {
  frame: AdminFrame;
  tokens: AdminToken[];
  names: ReadonlyMap<string, string>;
  now: number;
  created?: { token: AdminToken; secret: string } | undefined;
  values?: { name: string; expiresInDays: string };
  errors?: FieldErrors;
  notice?: string | undefined;
}): string {
  const errors = input.errors ?? {};
  return adminPage(
    input.frame,
    'tokens',
    'Admin API tokens',
    html`<h1>Admin API tokens</h1>
<p class="lead">Tokens for the admin API (<code>Authorization: Bearer lk_adm_…</code>, described at <a href="/admin/api/openapi.json">/admin/api/openapi.json</a>). A token can do everything an admin can: give it to scripts you trust, and revoke it when it is no longer needed.</p>
${notice(input.notice)}
${
  input.created
    ? html`<section class="panel" aria-labelledby="created-heading">
  <h2 id="created-heading">Token ${input.created.token.name} created</h2>
  ${shownOnce('admin-token', 'Token', input.created.secret)}
  <p class="warning" role="note"><strong>The token is shown only now.</strong> Only its hash is stored.</p>
</section>`
    : ''
}
${
  input.tokens.length === 0
    ? html`<p class="empty">No tokens yet.</p>`
    : html`<div class="table-wrap"><table class="table">
  <caption class="visually-hidden">Admin API tokens</caption>
  <thead><tr><th scope="col">Name</th><th scope="col">Token ID</th><th scope="col">Created by</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col">Status</th></tr></thead>
  <tbody>
  ${input.tokens.map((token) => {
    const status = adminTokenStatus(token, input.now);
    return html`<tr>
    <th scope="row">${token.name}</th>
    <td><code>${token.id}</code></td>
    <td>${token.createdBy ? html`<a href="/admin/users/${token.createdBy}">${input.names.get(token.createdBy) ?? token.createdBy}</a>` : html`<span class="muted">CLI</span>`}</td>
    <td>${when(token.createdAt)}</td>
    <td>${when(token.expiresAt, 'never')}</td>
    <td>${when(token.lastUsedAt, 'never')}${token.lastUsedIp ? html` <span class="small muted">from ${token.lastUsedIp}</span>` : ''}</td>
    <td>${
      status === 'active'
        ? html`<form method="post" action="/admin/tokens/${token.id}/revoke" class="inline">
        ${csrfField(input.frame)}
        <button type="submit" class="danger small">Revoke<span class="visually-hidden"> ${token.name}</span></button>
      </form>`
        : badge(status, status === 'revoked' ? 'neutral' : 'warn')
    }</td>
  </tr>`;
  })}
  </tbody>
</table></div>`
}
<section class="panel" aria-labelledby="new-token">
  <h2 id="new-token">New token</h2>
  ${Object.keys(errors).length > 0 ? problem('Please correct the fields marked below.') : ''}
  <form method="post" action="/admin/tokens" class="admin-form" novalidate>
    ${csrfField(input.frame)}
    <div class="row">
    ${textField({ name: 'name', label: 'Name', value: input.values?.name, error: errors.name, hint: 'What uses it, e.g. “billing export”.', attributes: html`maxlength="100"` })}
    ${textField({
      name: 'expires_in_days',
      label: 'Expires after (days)',
      value: input.values?.expiresInDays ?? '90',
      error: errors.expires_in_days,
      hint: 'Empty: never.',
      type: 'number',
      attributes: html`min="1" max="3650" step="1" inputmode="numeric"`,
    })}
    </div>
    <div class="actions"><button type="submit">Create token</button></div>
  </form>
</section>`,
    { script: input.created !== undefined },
  );
}
