/** The admin console's audit log: every security-relevant event, who, when and from where, filterable. */
import type { StoredAuditEvent } from '../../store/admin.js';
import { html, type SafeHtml } from '../html.js';
import { type AdminFrame, adminPage, type FieldErrors, problem, selectField, textField, when } from './common.js';

function detailText(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' · ');
}

/** Links a user, client, partner, grant or token id to its page. */
function reference(id: string | null, names: ReadonlyMap<string, string>): SafeHtml {
  if (id === null) return html`<span class="muted">—</span>`;
  const label = names.get(id) ?? id;
  if (id.startsWith('usr_')) return html`<a href="/admin/users/${id}">${label}</a>`;
  if (id.startsWith('lkc_')) return html`<a href="/admin/clients/${id}">${label}</a>`;
  if (id.startsWith('ptn_')) return html`<a href="/admin/partners/${id}">${label}</a>`;
  return html`<code>${label}</code>`;
}

export function auditTable(events: StoredAuditEvent[], names: ReadonlyMap<string, string>): SafeHtml {
  if (events.length === 0) return html`<p class="empty">No events.</p>`;
  return html`<div class="table-wrap"><table class="table audit">
  <caption class="visually-hidden">Audit events, newest first</caption>
  <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Who</th><th scope="col">From</th><th scope="col">Subject</th><th scope="col">Details</th></tr></thead>
  <tbody>
  ${events.map(
    (event) => html`<tr>
    <td>${when(event.at)}</td>
    <td><code>${event.type}</code></td>
    <td>${reference(event.actor, names)}</td>
    <td>${event.ip ?? html`<span class="muted">—</span>`}</td>
    <td>${reference(event.subject, names)}</td>
    <td class="small">${detailText(event.detail)}</td>
  </tr>`,
  )}
  </tbody>
</table></div>`;
}

export interface AuditFilterValues {
  type: string;
  actor: string;
  subject: string;
  from: string;
  to: string;
}

export function auditPage(input: {
  frame: AdminFrame;
  events: StoredAuditEvent[];
  names: ReadonlyMap<string, string>;
  types: string[];
  filter: AuditFilterValues;
  errors?: FieldErrors;
  olderHref?: string | undefined;
}): string {
  const errors = input.errors ?? {};
  const families = [...new Set(input.types.map((type) => type.split('.')[0] as string))];
  const typeOptions = [
    { value: '', label: 'All events' },
    ...families.map((family) => ({ value: `${family}.*`, label: `${family}.* (all)` })),
    ...input.types.map((type) => ({ value: type, label: type })),
  ];
  if (input.filter.type && !typeOptions.some((option) => option.value === input.filter.type)) {
    typeOptions.push({ value: input.filter.type, label: input.filter.type });
  }
  return adminPage(
    input.frame,
    'audit',
    'Audit log',
    html`<h1>Audit log</h1>
<p class="lead">Security-relevant events, newest first: clients, secrets, partners, sign-in failures and lockouts, connections, token reuse, and every admin action, with who did it, when and from where.</p>
${Object.keys(errors).length > 0 ? problem('Please correct the filter fields marked below.') : ''}
<form class="toolbar wrap" method="get" action="/admin/audit">
  ${selectField({ name: 'type', label: 'Event', options: typeOptions, selected: input.filter.type, error: errors.type })}
  ${textField({ name: 'actor', label: 'Who (user, token or client ID)', value: input.filter.actor, error: errors.actor, attributes: html`maxlength="200"` })}
  ${textField({ name: 'subject', label: 'Subject ID', value: input.filter.subject, error: errors.subject, attributes: html`maxlength="200"` })}
  ${textField({ name: 'from', label: 'From (UTC)', type: 'date', value: input.filter.from, error: errors.from })}
  ${textField({ name: 'to', label: 'To (UTC)', type: 'date', value: input.filter.to, error: errors.to })}
  <button type="submit" class="secondary">Filter</button>
</form>
${auditTable(input.events, input.names)}
${input.olderHref ? html`<nav class="pager" aria-label="Pages"><a href="${input.olderHref}">Older events</a></nav>` : ''}`,
  );
}
