/** The server-rendered pages of the end-user flow. */
import type { Account, Client, Scope } from '../core/model.js';
import { html } from './html.js';
import { page } from './layout.js';

export function signInPage(input: { csrfToken: string; interaction?: string | undefined; email?: string; error?: string; clientName?: string }): string {
  return page(
    'Sign in',
    html`<h1>Sign in</h1>
${input.clientName ? html`<p class="muted">to continue to <strong>${input.clientName}</strong></p>` : ''}
${input.error ? html`<p class="error" role="alert">${input.error}</p>` : ''}
<form method="post" action="/login">
  <input type="hidden" name="csrf_token" value="${input.csrfToken}">
  ${input.interaction ? html`<input type="hidden" name="interaction" value="${input.interaction}">` : ''}
  <label for="email">Email</label>
  <input id="email" name="email" type="email" autocomplete="username" required value="${input.email ?? ''}" autofocus>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
</form>`,
  );
}

export function chooseAccountPage(input: {
  csrfToken: string;
  interaction: string;
  client: Client;
  accounts: Account[];
  signedInAs: string;
  error?: string;
}): string {
  return page(
    'Choose an account',
    html`<h1>Which account do you want to connect?</h1>
<p class="muted"><strong>${input.client.name}</strong> will have access to the account you choose.</p>
${input.error ? html`<p class="error" role="alert">${input.error}</p>` : ''}
<form method="post" action="/interaction/${input.interaction}/account">
  <input type="hidden" name="csrf_token" value="${input.csrfToken}">
  <fieldset>
    <legend>Accounts</legend>
    ${input.accounts.map(
      (account, index) => html`<div>
      <input type="radio" id="account-${index}" name="account_id" value="${account.id}" ${index === 0 ? 'checked' : ''}>
      <label for="account-${index}" style="display:inline">${account.name} (${account.kind})</label>
    </div>`,
    )}
  </fieldset>
  <button type="submit">Continue</button>
</form>`,
    { signedInAs: input.signedInAs, csrfToken: input.csrfToken },
  );
}

export function consentPage(input: {
  csrfToken: string;
  interaction: string;
  client: Client;
  account: Account;
  scopes: Scope[];
  signedInAs: string;
}): string {
  return page(
    'Authorize access',
    html`<h1>Allow ${input.client.name} to access your account?</h1>
<p><strong>${input.client.name}</strong> is asking to access <strong>${input.account.name}</strong> (${input.account.kind}) on your behalf. It will be able to:</p>
<ul class="scopes">
  ${input.scopes.map((scope) => html`<li>${scope.description} <code>${scope.name}</code></li>`)}
</ul>
<form method="post" action="/interaction/${input.interaction}/consent">
  <input type="hidden" name="csrf_token" value="${input.csrfToken}">
  <div class="actions">
    <button type="submit" name="decision" value="allow">Allow</button>
    <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
  </div>
</form>
<p class="muted">You can disconnect this app at any time.</p>`,
    { signedInAs: input.signedInAs, csrfToken: input.csrfToken },
  );
}

export function accountHomePage(input: { csrfToken: string; email: string; accounts: Account[] }): string {
  return page(
    'Your account',
    html`<h1>Signed in</h1>
<p>You are signed in as <strong>${input.email}</strong>.</p>
<ul>${input.accounts.map((account) => html`<li>${account.name} (${account.kind})</li>`)}</ul>`,
    { signedInAs: input.email, csrfToken: input.csrfToken },
  );
}

export function errorPage(title: string, message: string): string {
  return page(title, html`<h1>${title}</h1><p class="error" role="alert">${message}</p>`);
}
