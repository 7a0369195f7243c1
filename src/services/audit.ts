/**
 * The audit trail as the operator sees it: who did what, when, from where.
 * Every operator action records an event with the actor and, over HTTP, the
 * address; the log is filtered by type, actor, subject and time.
 */
import type { StoredAuditEvent } from '../store/admin.js';
import type { AuditEvent, Store } from '../store/types.js';
import { ValidationError } from './errors.js';

/** Who performs an operator action. */
export interface Actor {
  /**
   * A user id (usr_...) in the admin console, an admin API token id
   * (adt_...) in the admin API, "cli:<os user>" on the command line; null
   * for the system itself.
   */
  actor: string | null;
  /** The address the request came from; null on the command line. */
  ip: string | null;
  via: 'console' | 'api' | 'cli' | 'system';
  /** For an admin API token: the admin user it belongs to, if any (recorded with every event). */
  onBehalfOf?: string | null | undefined;
}

export const SYSTEM: Actor = { actor: null, ip: null, via: 'system' };

/** An audit event for an action by `by`; the channel is kept in the detail. */
export function auditEvent(by: Actor, type: string, subject: string | null, detail: Record<string, unknown> = {}): AuditEvent {
  if (by.via === 'system') return { type, actor: by.actor, ip: by.ip, subject, detail };
  return { type, actor: by.actor, ip: by.ip, subject, detail: { ...detail, via: by.via, ...(by.onBehalfOf ? { onBehalfOf: by.onBehalfOf } : {}) } };
}

/** The audit log filter as typed by an operator (query string, CLI flags). */
export interface AuditFilterInput {
  /** Event types, comma- or space-separated; "client." or "client.*" is the family. */
  type?: string | undefined;
  actor?: string | undefined;
  subject?: string | undefined;
  /** ISO 8601 date or date-time; a date alone means that day (UTC), inclusive at both ends. */
  from?: string | undefined;
  to?: string | undefined;
  /** The id of the last event of the previous page. */
  before?: string | number | undefined;
  limit?: string | number | undefined;
}

export const AUDIT_PAGE_DEFAULT = 50;
export const AUDIT_PAGE_MAX = 500;

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
const TYPE = /^[a-z0-9_.-]+\*?$/;

/** Parses an ISO date or date-time; `end` makes a date alone mean the end of that day. */
export function parseInstant(value: string, end: boolean): number | undefined {
  const text = value.trim();
  if (DATE_ONLY.test(text)) {
    const start = Date.parse(`${text}T00:00:00Z`);
    if (Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== text) return undefined;
    return end ? start + 86_400_000 : start;
  }
  if (!DATE_TIME.test(text)) return undefined;
  const time = Date.parse(text);
  return Number.isNaN(time) ? undefined : time;
}

function wholeNumber(value: string | number | undefined, min: number, max: number): number | undefined | null {
  if (value === undefined || value === '') return undefined;
  const parsed = typeof value === 'number' ? value : /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  return Number.isInteger(parsed) && parsed >= min && parsed <= max ? parsed : null;
}

export interface AuditPage {
  events: StoredAuditEvent[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  nextBefore: number | null;
}

/** The newest events that match, newest first. Throws ValidationError naming the bad filter fields. */
export async function listAuditEvents(store: Store, input: AuditFilterInput): Promise<AuditPage> {
  const fields: Record<string, string> = {};
  const types = (input.type ?? '')
    .split(/[\s,]+/)
    .map((type) => type.trim().toLowerCase())
    .filter((type) => type !== '');
  if (types.length > 20 || types.some((type) => !TYPE.test(type) || type.length > 100)) {
    fields.type = 'Event types are words such as client.created, or a family such as client.* (at most 20).';
  }
  const actor = input.actor?.trim() || undefined;
  if (actor !== undefined && actor.length > 200) fields.actor = 'The actor is at most 200 characters.';
  const subject = input.subject?.trim() || undefined;
  if (subject !== undefined && subject.length > 200) fields.subject = 'The subject is at most 200 characters.';
  const from = input.from?.trim() ? parseInstant(input.from, false) : undefined;
  if (input.from?.trim() && from === undefined) fields.from = 'Use a date such as 2025-03-01 or a date-time such as 2025-03-01T09:30:00Z.';
  const to = input.to?.trim() ? parseInstant(input.to, true) : undefined;
  if (input.to?.trim() && to === undefined) fields.to = 'Use a date such as 2025-03-31 or a date-time such as 2025-03-31T18:00:00Z.';
  if (from !== undefined && to !== undefined && to <= from) fields.to = 'The end must come after the start.';
  const before = wholeNumber(input.before, 1, Number.MAX_SAFE_INTEGER);
  if (before === null) fields.before = 'before is the id of an event, a positive whole number.';
  const limit = wholeNumber(input.limit, 1, AUDIT_PAGE_MAX);
  if (limit === null) fields.limit = `limit is a whole number from 1 to ${AUDIT_PAGE_MAX}.`;
  ValidationError.throwIfAny(fields);

  const pageSize = limit ?? AUDIT_PAGE_DEFAULT;
  const events = await store.admin.listAudit({
    types,
    actor,
    subject,
    from,
    to,
    beforeId: before ?? undefined,
    limit: pageSize + 1,
  });
  const page = events.slice(0, pageSize);
  return { events: page, nextBefore: events.length > pageSize ? (page[page.length - 1]?.id ?? null) : null };
}
