/** Helpers for the web-page tests: forms, sign-in from a given address, the audit trail. */
import type { LightMyRequestResponse } from 'fastify';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { type Agent, csrfFrom } from './agent.js';

/** Posts a form as a browser at `remoteAddress` would (the per-IP limits key on it). */
export function postFrom(agent: Agent, url: string, fields: Record<string, string>, remoteAddress = '127.0.0.1'): Promise<LightMyRequestResponse> {
  return agent.request({
    method: 'POST',
    url,
    remoteAddress,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString(),
  });
}

/** Opens the sign-in page and returns a function that submits it. */
export async function signInForm(agent: Agent, remoteAddress = '127.0.0.1', interaction?: string) {
  const page = await agent.get(interaction ? `/login?interaction=${interaction}` : '/login');
  const csrf = csrfFrom(page.body);
  return (email: string, password: string) =>
    postFrom(agent, '/login', { csrf_token: csrf, email, password, ...(interaction ? { interaction } : {}) }, remoteAddress);
}

export async function auditEvents(store: KyselyStore, type: string, subject?: string) {
  let query = store.db.selectFrom('audit_events').selectAll().where('type', '=', type);
  if (subject !== undefined) query = query.where('subject', '=', subject);
  const rows = await query.orderBy('id').execute();
  return rows.map((row) => ({ ...row, detail: JSON.parse(row.detail) as Record<string, unknown> }));
}

/** A random documentation-range IPv4 address, so tests (and runs sharing a Redis) never share an IP bucket. */
export function randomIp(): string {
  const byte = () => Math.floor(Math.random() * 254) + 1;
  return `10.${byte()}.${byte()}.${byte()}`;
}

/** Every <form> of a page with its action and whether it carries a CSRF token. */
export function formsOf(html: string): Array<{ action: string; method: string; csrf: boolean }> {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map((match) => ({
    action: /action="([^"]*)"/.exec(match[1] ?? '')?.[1] ?? '',
    method: (/method="([^"]*)"/.exec(match[1] ?? '')?.[1] ?? 'get').toLowerCase(),
    csrf: /<input type="hidden" name="csrf_token" value="[^"]{43,}">/.test(match[2] ?? ''),
  }));
}
