/** The admin console's user pages: finding a user; their accounts, connected apps and lock. */
import type { User } from '../../core/model.js';
import type { StoredAuditEvent } from '../../store/admin.js';
import type { UserDetail } from '../../services/users.js';
import { html } from '../html.js';
import { auditTable } from './audit.js';
import { connectionTable } from './clients.js';
import { type AdminFrame, adminPage, badge, checkbox, csrfField, notice, pager, problem, textField, when } from './common.js';

function status(user: User) {
  return user.lockedAt === null ? badge('active', 'ok') : badge('locked', 'danger');
}

export function userListPage(input: {
  frame: AdminFrame;
  users: User[];
  total: number;
  q: string;
  offset: number;
  limit: number;
  error?: string | undefined;
}): string {
  return adminPage(
    input.frame,
    'users',
    'Users',
    html`<h1>Users</h1>
<p class="lead">Find a user to see their accounts and connected apps, lock or unlock them, or revoke a connection.</p>
${problem(input.error)}
<form class="toolbar" method="get" action="/admin/users" role="search">
  <div class="field">
    <label for="user-search">Search users</label>
    <input id="user-search" name="q" type="search" value="${input.q}" maxlength="200" placeholder="Email, name or user ID">
  </div>
  <button type="submit" class="secondary">Search</button>
</form>
${
  input.users.length === 0
    ? html`<p class="empty">${input.q ? 'No user matches.' : 'No users yet.'}</p>`
    : html`<div class="table-wrap"><table class="table">
  <caption class="visually-hidden">Users</caption>
  <thead><tr><th scope="col">Email</th><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Created</th></tr></thead>
  <tbody>
  ${input.users.map(
    (user) => html`<tr>
    <th scope="row"><a href="/admin/users/${user.id}">${user.email}</a>${user.isAdmin ? html` ${badge('admin')}` : ''}</th>
    <td>${`${user.firstName} ${user.lastName}`.trim() || html`<span class="muted">—</span>`}</td>
    <td>${status(user)}</td>
    <td>${when(user.createdAt)}</td>
  </tr>`,
  )}
  </tbody>
</table></div>`
}
${pager('/admin/users', { q: input.q }, input.offset, input.limit, input.total)}`,
  );
}

export function userPage(input: {
  frame: AdminFrame;
  detail: UserDetail;
  events: StoredAuditEvent[];
  self: boolean;
  notice?: string | undefined;
  error?: string | undefined;
}): string {
  const { user, accounts, connections } = input.detail;
  const name = `${user.firstName} ${user.lastName}`.trim();
  return adminPage(
    input.frame,
    'users',
    user.email,
    html`<p class="crumbs"><a href="/admin/users">Users</a></p>
<h1>${user.email}</h1>
${notice(input.notice)}
${problem(input.error)}
<dl class="facts">
  <dt>User ID</dt><dd><code>${user.id}</code></dd>
  <dt>Name</dt><dd>${name || html`<span class="muted">—</span>`}</dd>
  <dt>Role</dt><dd>${user.isAdmin ? 'Admin' : 'User'}</dd>
  <dt>Status</dt><dd>${status(user)}${user.lockedAt !== null ? html` since ${when(user.lockedAt)}` : ''}</dd>
  <dt>Created</dt><dd>${when(user.createdAt)}</dd>
</dl>
${
  user.lockedAt === null
    ? input.self
      ? html`<p class="muted">This is you: you cannot lock yourself out.</p>`
      : html`<section class="panel danger-panel" aria-labelledby="lock-heading">
  <h2 id="lock-heading">Lock</h2>
  <p>A locked user cannot sign in or use direct login, and is signed out everywhere now.</p>
  <form method="post" action="/admin/users/${user.id}/lock" class="admin-form">
    ${csrfField(input.frame)}
    ${textField({ name: 'reason', label: 'Reason (for the audit log)', attributes: html`maxlength="500"` })}
    ${checkbox({ name: 'revoke_connections', label: 'Also revoke every connected app (for a compromised account)', checked: false })}
    <div class="actions"><button type="submit" class="danger">Lock user</button></div>
  </form>
</section>`
    : html`<section class="panel" aria-labelledby="unlock-heading">
  <h2 id="unlock-heading">Unlock</h2>
  <p>The user may sign in again. Connections revoked when they were locked stay revoked.</p>
  <form method="post" action="/admin/users/${user.id}/unlock">
    ${csrfField(input.frame)}
    <div class="actions"><button type="submit">Unlock user</button></div>
  </form>
</section>`
}
<section aria-labelledby="accounts-heading">
  <h2 id="accounts-heading">Accounts</h2>
  ${
    accounts.length === 0
      ? html`<p class="empty">No accounts.</p>`
      : html`<div class="table-wrap"><table class="table">
    <caption class="visually-hidden">Accounts</caption>
    <thead><tr><th scope="col">Account</th><th scope="col">Kind</th><th scope="col">Created through</th><th scope="col">Created</th></tr></thead>
    <tbody>
    ${accounts.map(
      (account) => html`<tr><th scope="row">${account.name} <code class="small">${account.id}</code></th><td>${account.kind}</td><td>${
        account.partner ? html`<a href="/admin/partners/${account.partner.id}">${account.partner.name}</a>` : html`<span class="muted">—</span>`
      }</td><td>${when(account.createdAt)}</td></tr>`,
    )}
    </tbody>
  </table></div>`
  }
</section>
<section aria-labelledby="apps-heading">
  <h2 id="apps-heading">Connected apps</h2>
  ${connectionTable(input.frame, connections, { showClient: true, showUser: false, returnTo: `/admin/users/${user.id}` })}
</section>
<section aria-labelledby="events-heading">
  <h2 id="events-heading">Recent events</h2>
  ${auditTable(input.events, new Map([[user.id, user.email]]))}
  <p><a href="/admin/audit?subject=${encodeURIComponent(user.id)}">Events about this user</a> · <a href="/admin/audit?actor=${encodeURIComponent(user.id)}">Events by this user</a></p>
</section>`,
  );
}
