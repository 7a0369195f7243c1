/**
 * The server-rendered pages of the end-user flow. Plain HTML forms: every
 * page works without JavaScript, every field has a label, every form a CSRF
 * token, and errors are announced (role="alert") next to what they concern.
 */
import type { Account, Client, Scope } from '../core/model.js';
import { html, type SafeHtml } from './html.js';
import { type Brand, page } from './layout.js';

const accountLabel = (account: Account) => html`${account.name} <span class="kind">(${account.kind})</span>`;

function interactionQuery(interaction: string | undefined): string {
  return interaction ? `?interaction=${encodeURIComponent(interaction)}` : '';
}

export function signInPage(input: {
  csrfToken: string;
  interaction?: string | undefined;
  email?: string;
  error?: string;
  clientName?: string | undefined;
  brand?: Brand;
}): string {
  return page(
    'Sign in',
    html`<h1>Sign in</h1>
${input.clientName ? html`<p class="lead">to continue to <strong>${input.clientName}</strong></p>` : ''}
${input.error ? html`<p class="error" role="alert">${input.error}</p>` : ''}
<form method="post" action="/login">
  <input type="hidden" name="csrf_token" value="${input.csrfToken}">
  ${input.interaction ? html`<input type="hidden" name="interaction" value="${input.interaction}">` : ''}
  <div class="field">
    <label for="email">Email</label>
    <input id="email" name="email" type="email" autocomplete="username" required maxlength="254" value="${input.email ?? ''}"${input.email ? '' : html` autofocus`}>
  </div>
  <div class="field">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"${input.email ? html` autofocus` : ''}>
  </div>
  <button type="submit">Sign in</button>
</form>
<p class="alt">New here? <a href="/signup${interactionQuery(input.interaction)}">Create account</a></p>`,
    { brand: input.brand },
  );
}

export type SignUpField = 'first_name' | 'last_name' | 'email' | 'password' | 'account_name';

export function signUpPage(input: {
  csrfToken: string;
  interaction?: string | undefined;
  clientName?: string | undefined;
  values?: Partial<Record<Exclude<SignUpField, 'password'>, string>>;
  errors?: Partial<Record<SignUpField, string>>;
  error?: string;
  minPasswordLength: number;
  brand?: Brand;
}): string {
  const errors = input.errors ?? {};
  const values = input.values ?? {};
  const first = (['first_name', 'last_name', 'email', 'password', 'account_name'] as const).find((name) => errors[name]);
  const field = (
    name: SignUpField,
    label: string,
    attributes: SafeHtml,
    hint?: string,
  ) => {
    const described = [hint ? `${name}-hint` : '', errors[name] ? `${name}-error` : ''].filter(Boolean).join(' ');
    return html`<div class="field">
    <label for="${name}">${label}</label>
    <input id="${name}" name="${name}" ${attributes}${name === 'password' ? '' : html` value="${values[name as Exclude<SignUpField, 'password'>] ?? ''}"`}${
      errors[name] ? html` aria-invalid="true"` : ''
    }${described ? html` aria-describedby="${described}"` : ''}${(first ?? 'first_name') === name ? html` autofocus` : ''}>
    ${hint ? html`<p class="hint" id="${name}-hint">${hint}</p>` : ''}
    ${errors[name] ? html`<p class="field-error" id="${name}-error">${errors[name]}</p>` : ''}
  </div>`;
  };
  const problem = input.error ?? (first ? 'Please correct the fields marked below.' : undefined);
  return page(
    'Create account',
    html`<h1>Create your account</h1>
${input.clientName ? html`<p class="lead">to continue to <strong>${input.clientName}</strong></p>` : html`<p class="lead">It takes a minute.</p>`}
${problem ? html`<p class="error" role="alert">${problem}</p>` : ''}
<form method="post" action="/signup">
  <input type="hidden" name="csrf_token" value="${input.csrfToken}">
  ${input.interaction ? html`<input type="hidden" name="interaction" value="${input.interaction}">` : ''}
  <div class="row">
  ${field('first_name', 'First name', html`type="text" autocomplete="given-name" required maxlength="100"`)}
  ${field('last_name', 'Last name', html`type="text" autocomplete="family-name" required maxlength="100"`)}
  </div>
  ${field('email', 'Email', html`type="email" autocomplete="email" required maxlength="254"`)}
  ${field(
    'password',
    'Password',
    html`type="password" autocomplete="new-password" required minlength="${input.minPasswordLength}" maxlength="1024"`,
    `At least ${input.minPasswordLength} characters. Do not use your name or email.`,
  )}
  ${field(
    'account_name',
    'Account name',
    html`type="text" autocomplete="organization" required maxlength="100"`,
    'The name of your new account, such as your company or team.',
  )}
  <button type="submit">Create account</button>
</form>
<p class="alt">Already have an account? <a href="/login${interactionQuery(input.interaction)}">Sign in</a></p>`,
    { brand: input.brand },
  );
}

export function chooseAccountPage(input: {
  csrfToken: string;
  interaction: string;
  client: Client;
  accounts: Account[];
  signedInAs: string;
  error?: string;
  brand?: Brand;
}): string {
  return page(
    'Choose an account',
    html`<h1>Which account do you want to connect?</h1>
<p class="lead"><strong>${input.client.name}</strong> will have access to the account you choose, and only to that one.</p>
${input.error ? html`<p class="error" role="alert">${input.error}</p>` : ''}
<form method="post" action="/interaction/${input.interaction}/account">
  <input type="hidden" name="csrf_token" value="${input.csrfToken}">
  <fieldset>
    <legend>Your accounts</legend>
    ${input.accounts.map(
      (account, index) => html`<div class="choice">
      <input type="radio" id="account-${index}" name="account_id" value="${account.id}"${index === 0 ? html` checked` : ''}>
      <label for="account-${index}">${accountLabel(account)}</label>
    </div>`,
    )}
  </fieldset>
  <button type="submit">Continue</button>
</form>`,
    { signedInAs: input.signedInAs, csrfToken: input.csrfToken, brand: input.brand },
  );
}

export function consentPage(input: {
  csrfToken: string;
  interaction: string;
  client: Client;
  /** The partner behind the client, if it has one. */
  partnerName?: string | undefined;
  account: Account;
  scopes: Scope[];
  /** Where the browser goes after the decision (the redirect URI's host). */
  returnTo?: string | undefined;
  signedInAs: string;
  brand?: Brand;
  /** Allow/Deny buttons, or a box to tick and a submit button (GoCD). */
  style?: 'buttons' | 'checkbox';
  error?: string | undefined;
}): string {
  const { client, account } = input;
  return page(
    'Authorize access',
    html`<h1>Allow ${client.name} to access ${account.name}?</h1>
<p class="lead"><strong>${client.name}</strong>${input.partnerName ? html`, provided by <strong>${input.partnerName}</strong>,` : ''} is asking to access your account <strong>${account.name}</strong> on your behalf.</p>
<dl class="facts">
  <dt>App</dt><dd>${client.name}</dd>
  ${input.partnerName ? html`<dt>Provided by</dt><dd>${input.partnerName}</dd>` : ''}
  <dt>Account</dt><dd>${accountLabel(account)}</dd>
  <dt>Signed in as</dt><dd>${input.signedInAs}</dd>
  ${input.returnTo ? html`<dt>Returns you to</dt><dd>${input.returnTo}</dd>` : ''}
</dl>
<h2>${client.name} will be able to</h2>
<ul class="scopes">
  ${input.scopes.map((scope) => html`<li>${scope.description} <code>${scope.name}</code></li>`)}
</ul>
${input.error ? html`<p class="error" role="alert">${input.error}</p>` : ''}
<form method="post" action="/interaction/${input.interaction}/consent">
  <input type="hidden" name="csrf_token" value="${input.csrfToken}">
  ${
    input.style === 'checkbox'
      ? html`<p class="confirm"><input type="checkbox" id="approve" name="approve" value="yes" required>
  <label for="approve">I authorize ${client.name} to access ${account.name} on my behalf</label></p>
  <div class="actions">
    <button type="submit" name="decision" value="allow">Submit</button>
    <button type="submit" name="decision" value="deny" class="secondary" formnovalidate>Deny</button>
  </div>`
      : html`<div class="actions">
    <button type="submit" name="decision" value="allow">Allow</button>
    <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
  </div>`
  }
</form>
<p class="muted small">You can disconnect ${client.name} at any time on your <a href="/account/apps">connected apps</a> page.</p>`,
    { signedInAs: input.signedInAs, csrfToken: input.csrfToken, brand: input.brand },
  );
}

export interface ConnectedApp {
  grantId: string;
  clientName: string;
  partnerName: string | undefined;
  scopes: Scope[];
  connectedAt: number;
  lastUsedAt: number | null;
}

const DATE = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  timeZone: 'UTC',
  timeZoneName: 'short',
});

function when(time: number): SafeHtml {
  return html`<time datetime="${new Date(time).toISOString()}">${DATE.format(time)}</time>`;
}

export function connectedAppsPage(input: {
  csrfToken: string;
  email: string;
  sections: Array<{ account: Account; apps: ConnectedApp[] }>;
  notice?: string | undefined;
  brand?: Brand;
}): string {
  return page(
    'Connected apps',
    html`<h1>Connected apps</h1>
<p class="lead">Apps you allowed to use your accounts. Disconnecting an app takes its access away at once.</p>
${input.notice ? html`<p class="notice" role="status">${input.notice}</p>` : ''}
${input.sections.length === 0 ? html`<p class="empty">You have no accounts yet.</p>` : ''}
${input.sections.map(
  ({ account, apps }, index) => html`<section aria-labelledby="account-${index}">
  <h2 id="account-${index}">${accountLabel(account)}</h2>
  ${
    apps.length === 0
      ? html`<p class="empty">No apps are connected to this account.</p>`
      : html`<ul class="apps">
    ${apps.map(
      (app) => html`<li class="app">
      <div>
        <h3>${app.clientName}</h3>
        <p class="meta">${app.partnerName ? html`Provided by ${app.partnerName} · ` : ''}Connected ${when(app.connectedAt)} · ${
          app.lastUsedAt === null ? 'Not used yet' : html`Last used ${when(app.lastUsedAt)}`
        }</p>
      </div>
      <ul class="scopes" aria-label="What ${app.clientName} can do">
        ${app.scopes.map((scope) => html`<li>${scope.description} <code>${scope.name}</code></li>`)}
      </ul>
      <form method="post" action="/account/apps/${app.grantId}/disconnect">
        <input type="hidden" name="csrf_token" value="${input.csrfToken}">
        <button type="submit" class="danger">Disconnect<span class="visually-hidden"> ${app.clientName} from ${account.name}</span></button>
      </form>
    </li>`,
    )}
  </ul>`
  }
</section>`,
)}`,
    { signedInAs: input.email, csrfToken: input.csrfToken, brand: input.brand, wide: true },
  );
}

export function errorPage(title: string, message: string, options: { brand?: Brand | undefined } = {}): string {
  return page(title, html`<h1>${title}</h1><p class="error" role="alert">${message}</p>`, { brand: options.brand });
}
