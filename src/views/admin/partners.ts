/** The admin console's partner pages: the list, a new partner, and each partner's report. */
import type { Client, Partner } from '../../core/model.js';
import type { PartnerSummary } from '../../store/admin.js';
import type { PartnerDetail, PartnerReport } from '../../services/partners.js';
import { html } from '../html.js';
import { connectionTable } from './clients.js';
import { type AdminFrame, adminPage, csrfField, type FieldErrors, notice, problem, textField, when } from './common.js';

export function partnerListPage(input: {
  frame: AdminFrame;
  partners: PartnerSummary[];
  values?: { name: string; partnerPortalId: string };
  errors?: FieldErrors;
  notice?: string | undefined;
}): string {
  const errors = input.errors ?? {};
  return adminPage(
    input.frame,
    'partners',
    'Partners',
    html`<h1>Partners</h1>
<p class="lead">The companies behind clients. Accounts created through a partner and connections made by its clients are credited to it, for reporting and billing.</p>
${notice(input.notice)}
${
  input.partners.length === 0
    ? html`<p class="empty">No partners yet.</p>`
    : html`<div class="table-wrap"><table class="table">
  <caption class="visually-hidden">Partners</caption>
  <thead><tr><th scope="col">Name</th><th scope="col">partner_portal_id</th><th scope="col">Clients</th><th scope="col">Accounts</th><th scope="col">Connections</th><th scope="col">Since</th></tr></thead>
  <tbody>
  ${input.partners.map(
    (partner) => html`<tr>
    <th scope="row"><a href="/admin/partners/${partner.id}">${partner.name}</a></th>
    <td><code>${partner.partnerPortalId}</code></td>
    <td>${partner.clients}</td>
    <td>${partner.accounts}</td>
    <td>${partner.connections}</td>
    <td>${when(partner.createdAt)}</td>
  </tr>`,
  )}
  </tbody>
</table></div>`
}
<section class="panel" aria-labelledby="new-partner">
  <h2 id="new-partner">New partner</h2>
  ${Object.keys(errors).length > 0 ? problem('Please correct the fields marked below.') : ''}
  <form method="post" action="/admin/partners" class="admin-form" novalidate>
    ${csrfField(input.frame)}
    <div class="row">
    ${textField({ name: 'name', label: 'Name', value: input.values?.name, error: errors.name, attributes: html`maxlength="200"` })}
    ${textField({
      name: 'partner_portal_id',
      label: 'partner_portal_id',
      value: input.values?.partnerPortalId,
      error: errors.partner_portal_id,
      hint: 'The identifier the partner sends; letters, digits, dots, dashes, underscores.',
      attributes: html`maxlength="100"`,
    })}
    </div>
    <div class="actions"><button type="submit">Create partner</button></div>
  </form>
</section>`,
  );
}

export function partnerPage(input: {
  frame: AdminFrame;
  partner: Partner;
  report: PartnerReport;
  detail: PartnerDetail;
  clients: Client[];
  values?: { name: string; partnerPortalId: string };
  errors?: FieldErrors;
  rangeError?: string | undefined;
  notice?: string | undefined;
}): string {
  const { partner, report } = input;
  const errors = input.errors ?? {};
  const exportLink = (kind: string, label: string) => {
    const href = `/admin/partners/${partner.id}/export.csv?${new URLSearchParams({ kind, from: report.from, to: report.to })}`;
    return html`<a class="button secondary" href="${href}" download>${label}</a>`;
  };
  return adminPage(
    input.frame,
    'partners',
    partner.name,
    html`<p class="crumbs"><a href="/admin/partners">Partners</a></p>
<h1>${partner.name}</h1>
${notice(input.notice)}
<dl class="facts">
  <dt>partner_portal_id</dt><dd><code>${partner.partnerPortalId}</code></dd>
  <dt>Partner ID</dt><dd><code>${partner.id}</code></dd>
  <dt>Since</dt><dd>${when(partner.createdAt)}</dd>
  <dt>Clients</dt><dd>${input.clients.length === 0 ? html`<span class="muted">None</span>` : input.clients.map((client) => html`<a href="/admin/clients/${client.id}">${client.name}</a> `)}</dd>
</dl>

<section aria-labelledby="report-heading">
  <h2 id="report-heading">Accounts and connections per month</h2>
  <form method="get" action="/admin/partners/${partner.id}" class="toolbar">
    ${textField({ name: 'from', label: 'From month', type: 'month', value: report.from, attributes: html`placeholder="2025-01" pattern="\\d{4}-\\d{2}"` })}
    ${textField({ name: 'to', label: 'To month', type: 'month', value: report.to, attributes: html`placeholder="2025-12" pattern="\\d{4}-\\d{2}"` })}
    <button type="submit" class="secondary">Show</button>
  </form>
  ${problem(input.rangeError)}
  <div class="table-wrap"><table class="table numbers">
    <caption class="visually-hidden">Accounts created and connections made per month, ${report.from} to ${report.to}</caption>
    <thead><tr><th scope="col">Month</th><th scope="col">Accounts created</th><th scope="col">Connections made</th></tr></thead>
    <tbody>
    ${report.months.map((row) => html`<tr><th scope="row">${row.month}</th><td>${row.accounts}</td><td>${row.connections}</td></tr>`)}
    </tbody>
    <tfoot><tr><th scope="row">Total</th><td>${report.totals.accounts}</td><td>${report.totals.connections}</td></tr></tfoot>
  </table></div>
  <div class="actions">
    ${exportLink('monthly', 'Export monthly counts (CSV)')}
    ${exportLink('accounts', 'Export accounts (CSV)')}
    ${exportLink('connections', 'Export connections (CSV)')}
  </div>
</section>

<section aria-labelledby="accounts-heading">
  <h2 id="accounts-heading">Accounts created through ${partner.name}</h2>
  <p class="muted small">The newest ${input.detail.accounts.length} in the range; the CSV export has them all.</p>
  ${
    input.detail.accounts.length === 0
      ? html`<p class="empty">None in this range.</p>`
      : html`<div class="table-wrap"><table class="table">
    <caption class="visually-hidden">Accounts</caption>
    <thead><tr><th scope="col">Account</th><th scope="col">Kind</th><th scope="col">Members</th><th scope="col">Created</th></tr></thead>
    <tbody>
    ${input.detail.accounts.map(
      (account) => html`<tr><th scope="row">${account.name} <code class="small">${account.id}</code></th><td>${account.kind}</td><td>${account.members}</td><td>${when(account.createdAt)}</td></tr>`,
    )}
    </tbody>
  </table></div>`
  }
</section>

<section aria-labelledby="connections-heading">
  <h2 id="connections-heading">Connections made by its clients</h2>
  ${connectionTable(input.frame, input.detail.connections, { showClient: true, returnTo: `/admin/partners/${partner.id}` })}
</section>

<section class="panel" aria-labelledby="edit-partner">
  <h2 id="edit-partner">Edit partner</h2>
  ${Object.keys(errors).length > 0 ? problem('Please correct the fields marked below.') : ''}
  <form method="post" action="/admin/partners/${partner.id}" class="admin-form" novalidate>
    ${csrfField(input.frame)}
    <div class="row">
    ${textField({ name: 'name', label: 'Name', value: input.values?.name ?? partner.name, error: errors.name, attributes: html`maxlength="200"` })}
    ${textField({
      name: 'partner_portal_id',
      label: 'partner_portal_id',
      value: input.values?.partnerPortalId ?? partner.partnerPortalId,
      error: errors.partner_portal_id,
      hint: 'Changing it breaks links that send the old one.',
      attributes: html`maxlength="100"`,
    })}
    </div>
    <div class="actions"><button type="submit">Update</button></div>
  </form>
</section>`,
  );
}
