/**
 * The admin console's frame and form parts. Same layout and stylesheet as
 * the user pages; every page works without JavaScript (the one script only
 * adds copy buttons), every field has a label, errors sit next to their field.
 */
import { html, type SafeHtml } from '../html.js';
import { type Brand, page } from '../layout.js';

export type AdminSection = 'clients' | 'partners' | 'users' | 'audit' | 'scopes' | 'tokens';

const SECTIONS: Array<[AdminSection, string, string]> = [
  ['clients', 'OAuth clients', '/admin/clients'],
  ['partners', 'Partners', '/admin/partners'],
  ['users', 'Users', '/admin/users'],
  ['audit', 'Audit log', '/admin/audit'],
  ['scopes', 'Scopes', '/admin/scopes'],
  ['tokens', 'API tokens', '/admin/tokens'],
];

/** The script with the progressive enhancements (copy buttons), served from /assets. */
export const ADMIN_SCRIPT_PATH = '/assets/latchkey-admin.js';

/** What every admin page knows: who is signed in, their CSRF token, the brand. */
export interface AdminFrame {
  email: string;
  csrfToken: string;
  brand?: Brand | undefined;
}

export function adminPage(
  frame: AdminFrame,
  section: AdminSection,
  title: string,
  body: SafeHtml,
  options: { script?: boolean } = {},
): string {
  const nav = html`<nav class="admin-nav" aria-label="Admin">
    <ul>
      ${SECTIONS.map(
        ([key, label, href]) => html`<li><a href="${href}"${key === section ? html` aria-current="page"` : ''}>${label}</a></li>`,
      )}
    </ul>
  </nav>`;
  return page(`${title} · Admin`, body, {
    brand: frame.brand,
    signedInAs: frame.email,
    csrfToken: frame.csrfToken,
    nav,
    mainClass: 'admin',
    scripts: options.script ? [ADMIN_SCRIPT_PATH] : [],
  });
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

export function when(time: number | null, empty = '—'): SafeHtml {
  return time === null ? html`<span class="muted">${empty}</span>` : html`<time datetime="${new Date(time).toISOString()}">${DATE.format(time)}</time>`;
}

export function csrfField(frame: AdminFrame): SafeHtml {
  return html`<input type="hidden" name="csrf_token" value="${frame.csrfToken}">`;
}

export function notice(text: string | undefined): SafeHtml | '' {
  return text ? html`<p class="notice" role="status">${text}</p>` : '';
}

export function problem(text: string | undefined): SafeHtml | '' {
  return text ? html`<p class="error" role="alert">${text}</p>` : '';
}

export type FieldErrors = Record<string, string>;

function described(id: string, hint: string | undefined, error: string | undefined): SafeHtml | '' {
  const ids = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return ids ? html` aria-describedby="${ids}"` : '';
}

function below(id: string, hint: string | undefined, error: string | undefined): SafeHtml {
  return html`${hint ? html`<p class="hint" id="${id}-hint">${hint}</p>` : ''}${error ? html`<p class="field-error" id="${id}-error">${error}</p>` : ''}`;
}

/** A labelled text input with its hint and error. */
export function textField(input: {
  name: string;
  label: string;
  value?: string | undefined;
  error?: string | undefined;
  hint?: string | undefined;
  type?: 'text' | 'number' | 'month' | 'date';
  required?: boolean;
  attributes?: SafeHtml;
}): SafeHtml {
  const id = `field-${input.name}`;
  return html`<div class="field">
  <label for="${id}">${input.label}</label>
  <input id="${id}" name="${input.name}" type="${input.type ?? 'text'}" value="${input.value ?? ''}"${input.required ? html` required` : ''}${
    input.error ? html` aria-invalid="true"` : ''
  }${described(id, input.hint, input.error)}${input.attributes ? html` ${input.attributes}` : ''}>
  ${below(id, input.hint, input.error)}
</div>`;
}

export function textArea(input: { name: string; label: string; value?: string; error?: string | undefined; hint?: string; rows?: number }): SafeHtml {
  const id = `field-${input.name}`;
  return html`<div class="field">
  <label for="${id}">${input.label}</label>
  <textarea id="${id}" name="${input.name}" rows="${input.rows ?? 3}"${input.error ? html` aria-invalid="true"` : ''}${described(id, input.hint, input.error)}>${
    input.value ?? ''
  }</textarea>
  ${below(id, input.hint, input.error)}
</div>`;
}

export function checkbox(input: { name: string; label: string | SafeHtml; checked: boolean; hint?: string; id?: string }): SafeHtml {
  const id = input.id ?? `field-${input.name}`;
  return html`<div class="check">
  <input type="checkbox" id="${id}" name="${input.name}" value="on"${input.checked ? html` checked` : ''}${input.hint ? html` aria-describedby="${id}-hint"` : ''}>
  <label for="${id}">${input.label}</label>
  ${input.hint ? html`<p class="hint" id="${id}-hint">${input.hint}</p>` : ''}
</div>`;
}

export function selectField(input: {
  name: string;
  label: string;
  options: Array<{ value: string; label: string }>;
  selected: string;
  error?: string | undefined;
  hint?: string;
}): SafeHtml {
  const id = `field-${input.name}`;
  return html`<div class="field">
  <label for="${id}">${input.label}</label>
  <select id="${id}" name="${input.name}"${input.error ? html` aria-invalid="true"` : ''}${described(id, input.hint, input.error)}>
    ${input.options.map((option) => html`<option value="${option.value}"${option.value === input.selected ? html` selected` : ''}>${option.label}</option>`)}
  </select>
  ${below(id, input.hint, input.error)}
</div>`;
}

/** A value shown once (a client secret, an API token), with a copy button the script reveals. */
export function shownOnce(id: string, label: string, value: string): SafeHtml {
  return html`<div class="once">
  <p class="once-label">${label}</p>
  <div class="once-value">
    <code id="${id}">${value}</code>
    <button type="button" class="secondary copy" data-copy="${id}" hidden>Copy<span class="visually-hidden"> ${label}</span></button>
  </div>
</div>`;
}

/** "Showing 1–50 of 120" with links to the neighbouring pages, keeping the other query parameters. */
export function pager(base: string, query: Record<string, string | undefined>, offset: number, limit: number, total: number): SafeHtml | '' {
  if (total <= limit && offset === 0) return '';
  const link = (to: number) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value) params.set(key, value);
    if (to > 0) params.set('offset', String(to));
    const search = params.toString();
    return search ? `${base}?${search}` : base;
  };
  return html`<nav class="pager" aria-label="Pages">
  <span>${total === 0 ? 'None' : `${offset + 1}–${Math.min(offset + limit, total)} of ${total}`}</span>
  ${offset > 0 ? html`<a href="${link(Math.max(0, offset - limit))}">Previous</a>` : ''}
  ${offset + limit < total ? html`<a href="${link(offset + limit)}">Next</a>` : ''}
</nav>`;
}

export function badge(text: string, kind: 'neutral' | 'warn' | 'danger' | 'ok' = 'neutral'): SafeHtml {
  return html`<span class="badge badge-${kind}">${text}</span>`;
}
