/**
 * Partners: the companies behind clients, credited with the accounts created
 * through them and the connections their clients make (Go1: "for reporting
 * and billing"). The report counts both per calendar month (UTC) and exports
 * them as CSV.
 */
import type { Partner } from '../core/model.js';
import type { GrantRecord, PartnerAccount, PartnerSummary } from '../store/admin.js';
import { DuplicateError, type Store } from '../store/types.js';
import { type Actor, auditEvent, SYSTEM } from './audit.js';
import { csv } from './csv.js';
import { NotFoundError, ValidationError } from './errors.js';

const PORTAL_ID = /^[A-Za-z0-9._-]{1,100}$/;

function checkName(name: string, fields: Record<string, string>): string {
  const trimmed = name.trim();
  if (trimmed === '' || trimmed.length > 200) fields.name = 'name must be 1 to 200 characters';
  return trimmed;
}

function checkPortalId(value: string, fields: Record<string, string>): string {
  const trimmed = value.trim();
  if (!PORTAL_ID.test(trimmed)) fields.partner_portal_id = 'partner_portal_id must be 1 to 100 letters, digits, dots, dashes or underscores';
  return trimmed;
}

export async function registerPartner(
  store: Store,
  input: { name: string; partnerPortalId: string },
  now: number,
  options: { by?: Actor | undefined } = {},
): Promise<Partner> {
  const fields: Record<string, string> = {};
  const name = checkName(input.name, fields);
  const partnerPortalId = checkPortalId(input.partnerPortalId, fields);
  ValidationError.throwIfAny(fields);
  try {
    return await store.transaction(async (tx) => {
      const partner = await tx.createPartner({ name, partnerPortalId }, now);
      await tx.recordAudit(auditEvent(options.by ?? SYSTEM, 'partner.created', partner.id, { name, partnerPortalId }), now);
      return partner;
    });
  } catch (error) {
    if (error instanceof DuplicateError) throw ValidationError.field('partner_portal_id', `a partner with partner_portal_id ${partnerPortalId} already exists`);
    throw error;
  }
}

/** A partner by its id (ptn_...) or its partner_portal_id. */
export async function getPartner(store: Store, idOrPortalId: string): Promise<Partner> {
  const partner = (idOrPortalId.startsWith('ptn_') ? await store.findPartner(idOrPortalId) : undefined) ?? (await store.findPartnerByPortalId(idOrPortalId));
  if (!partner) throw new NotFoundError(`no partner ${idOrPortalId}`);
  return partner;
}

export async function changePartner(
  store: Store,
  idOrPortalId: string,
  input: { name?: string | undefined; partnerPortalId?: string | undefined },
  now: number,
  options: { by?: Actor | undefined } = {},
): Promise<Partner> {
  const partner = await getPartner(store, idOrPortalId);
  const fields: Record<string, string> = {};
  const changes: { name?: string; partnerPortalId?: string } = {};
  if (input.name !== undefined) changes.name = checkName(input.name, fields);
  if (input.partnerPortalId !== undefined) changes.partnerPortalId = checkPortalId(input.partnerPortalId, fields);
  ValidationError.throwIfAny(fields);
  try {
    return await store.transaction(async (tx) => {
      const updated = await tx.admin.updatePartner(partner.id, changes);
      if (!updated) throw new NotFoundError(`no partner ${idOrPortalId}`);
      await tx.recordAudit(
        auditEvent(options.by ?? SYSTEM, 'partner.updated', partner.id, {
          fields: Object.keys(changes),
          ...(changes.partnerPortalId !== undefined && changes.partnerPortalId !== partner.partnerPortalId
            ? { previousPartnerPortalId: partner.partnerPortalId, partnerPortalId: changes.partnerPortalId }
            : {}),
        }),
        now,
      );
      return updated;
    });
  } catch (error) {
    if (error instanceof DuplicateError) {
      throw ValidationError.field('partner_portal_id', `a partner with partner_portal_id ${changes.partnerPortalId} already exists`);
    }
    throw error;
  }
}

export function listPartners(store: Store): Promise<PartnerSummary[]> {
  return store.admin.partnerSummaries();
}

/** A calendar month, "YYYY-MM". */
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

function monthStart(month: string): number {
  const [, year, number] = MONTH.exec(month) as RegExpExecArray;
  return Date.UTC(Number(year), Number(number) - 1, 1);
}

function monthOf(time: number): string {
  return new Date(time).toISOString().slice(0, 7);
}

function nextMonth(month: string): string {
  const start = new Date(monthStart(month));
  return monthOf(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}

export interface ReportInput {
  /** First month, "YYYY-MM" (default: eleven months before `to`). */
  from?: string | undefined;
  /** Last month, inclusive (default: the current month). */
  to?: string | undefined;
}

export interface PartnerReport {
  partner: Partner;
  from: string;
  to: string;
  /** Every month of the range, oldest first, with zeros where nothing happened. */
  months: Array<{ month: string; accounts: number; connections: number }>;
  totals: { accounts: number; connections: number };
}

/** At most ten years in one report. */
const MAX_MONTHS = 120;

function reportRange(input: ReportInput, now: number): { from: string; to: string } {
  const fields: Record<string, string> = {};
  const to = input.to?.trim() || monthOf(now);
  if (!MONTH.test(to)) fields.to = 'to is a month such as 2025-03';
  let from = input.from?.trim();
  if (from !== undefined && from !== '' && !MONTH.test(from)) fields.from = 'from is a month such as 2025-01';
  ValidationError.throwIfAny(fields);
  if (!from) {
    const end = new Date(monthStart(to));
    from = monthOf(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() - 11, 1));
  }
  if (from > to) throw ValidationError.field('from', 'from must not come after to');
  const [fromYear, fromMonth] = from.split('-').map(Number) as [number, number];
  const [toYear, toMonth] = to.split('-').map(Number) as [number, number];
  if ((toYear - fromYear) * 12 + (toMonth - fromMonth) + 1 > MAX_MONTHS) throw ValidationError.field('from', `a report covers at most ${MAX_MONTHS} months`);
  return { from, to };
}

/** Accounts created through the partner and connections made by its clients, per month. */
export async function partnerReport(store: Store, idOrPortalId: string, input: ReportInput, now: number): Promise<PartnerReport> {
  const partner = await getPartner(store, idOrPortalId);
  const { from, to } = reportRange(input, now);
  const start = monthStart(from);
  const end = monthStart(nextMonth(to));
  const [accounts, connections] = await Promise.all([
    store.admin.partnerAccountsPerMonth(partner.id, start, end),
    store.admin.partnerConnectionsPerMonth(partner.id, start, end),
  ]);
  const accountsBy = new Map(accounts.map((row) => [row.month, row.count]));
  const connectionsBy = new Map(connections.map((row) => [row.month, row.count]));
  const months: PartnerReport['months'] = [];
  for (let month = from; month <= to; month = nextMonth(month)) {
    months.push({ month, accounts: accountsBy.get(month) ?? 0, connections: connectionsBy.get(month) ?? 0 });
  }
  const totals = months.reduce((sum, row) => ({ accounts: sum.accounts + row.accounts, connections: sum.connections + row.connections }), {
    accounts: 0,
    connections: 0,
  });
  return { partner, from, to, months, totals };
}

/** Rows an export holds at most; a larger one is cut and says so. */
export const EXPORT_LIMIT = 100_000;

export interface PartnerDetail {
  accounts: PartnerAccount[];
  connections: GrantRecord[];
}

/** The accounts and connections behind a report's range, newest first. */
export async function partnerDetail(store: Store, partner: Partner, range: { from: string; to: string }, limit: number): Promise<PartnerDetail> {
  const start = monthStart(range.from);
  const end = monthStart(nextMonth(range.to));
  const [accounts, connections] = await Promise.all([
    store.admin.partnerAccounts(partner.id, { from: start, to: end, limit }),
    store.admin.listGrants({ partnerId: partner.id, from: start, to: end, includeRevoked: true, limit }),
  ]);
  return { accounts, connections };
}

export type ExportKind = 'monthly' | 'accounts' | 'connections';
export const EXPORT_KINDS: readonly ExportKind[] = ['monthly', 'accounts', 'connections'];

/** A partner report as CSV (RFC 4180): the monthly counts, or the accounts or connections themselves. */
export async function partnerCsv(store: Store, idOrPortalId: string, kind: string, input: ReportInput, now: number): Promise<{ filename: string; body: string }> {
  if (!(EXPORT_KINDS as readonly string[]).includes(kind)) throw ValidationError.field('kind', `kind is one of ${EXPORT_KINDS.join(', ')}`);
  const report = await partnerReport(store, idOrPortalId, input, now);
  const { partner } = report;
  const filename = `${partner.partnerPortalId}-${kind}-${report.from}-to-${report.to}.csv`;
  const iso = (time: number | null) => (time === null ? '' : new Date(time).toISOString());
  if (kind === 'monthly') {
    return {
      filename,
      body: csv([
        ['month', 'partner_portal_id', 'accounts_created', 'connections_made'],
        ...report.months.map((row) => [row.month, partner.partnerPortalId, row.accounts, row.connections]),
      ]),
    };
  }
  const detail = await partnerDetail(store, partner, report, EXPORT_LIMIT);
  if (kind === 'accounts') {
    return {
      filename,
      body: csv([
        ['account_id', 'name', 'kind', 'members', 'created_at', 'partner_portal_id'],
        ...detail.accounts.map((account) => [account.id, account.name, account.kind, account.members, iso(account.createdAt), partner.partnerPortalId]),
      ]),
    };
  }
  return {
    filename,
    body: csv([
      ['grant_id', 'client_id', 'client_name', 'account_id', 'account_name', 'user_id', 'scopes', 'created_at', 'last_used_at', 'revoked_at', 'partner_portal_id'],
      ...detail.connections.map((grant) => [
        grant.id,
        grant.clientId,
        grant.clientName ?? '',
        grant.accountId ?? '',
        grant.accountName ?? '',
        grant.userId ?? '',
        grant.scopes.join(' '),
        iso(grant.createdAt),
        iso(grant.lastUsedAt),
        iso(grant.revokedAt),
        partner.partnerPortalId,
      ]),
    ]),
  };
}
