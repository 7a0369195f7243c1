/**
 * The scope registry: each scope's name, the description users read on the
 * consent page, and whether it is a default scope (granted when a client
 * asks for none, RFC 6749 §3.3).
 */
import type { Scope } from '../core/model.js';
import { isScopeToken } from '../core/scope.js';
import type { Store } from '../store/types.js';
import { type Actor, auditEvent, SYSTEM } from './audit.js';
import { NotFoundError, ValidationError } from './errors.js';

export interface ScopeWithUse extends Scope {
  /** Live clients that may request it. */
  clients: number;
}

export async function listScopes(store: Store): Promise<ScopeWithUse[]> {
  const [scopes, clients] = await Promise.all([store.listScopes(), store.listClients()]);
  return scopes.map((scope) => ({ ...scope, clients: clients.filter((client) => client.scopes.includes(scope.name)).length }));
}

export async function getScope(store: Store, name: string): Promise<Scope> {
  const scope = (await store.listScopes()).find((candidate) => candidate.name === name);
  if (!scope) throw new NotFoundError(`no scope ${name}`);
  return scope;
}

/** Adds the scope, or changes its description and default flag. */
export async function setScope(
  store: Store,
  input: { name: string; description?: string | undefined; isDefault?: boolean | undefined },
  now: number,
  options: { by?: Actor | undefined } = {},
): Promise<{ scope: Scope; created: boolean }> {
  const fields: Record<string, string> = {};
  const name = input.name.trim();
  if (!isScopeToken(name) || name.length > 100) {
    fields.name = 'a scope name is 1 to 100 printable characters without spaces, quotes or backslashes (RFC 6749 §3.3)';
  }
  const existing = fields.name ? undefined : (await store.listScopes()).find((scope) => scope.name === name);
  const description = input.description?.trim() ?? existing?.description;
  if (description === undefined || description === '') fields.description = 'describe the scope: users read it on the consent page';
  else if (description.length > 200) fields.description = 'the description is at most 200 characters';
  ValidationError.throwIfAny(fields);
  const scope: Scope = { name, description: description as string, isDefault: input.isDefault ?? existing?.isDefault ?? false };
  await store.transaction(async (tx) => {
    await tx.upsertScope(scope);
    await tx.recordAudit(
      auditEvent(options.by ?? SYSTEM, existing ? 'scope.updated' : 'scope.created', name, { description: scope.description, default: scope.isDefault }),
      now,
    );
  });
  return { scope, created: existing === undefined };
}

/** Removes a scope from the registry; refused while a client may still request it. */
export async function deleteScope(store: Store, name: string, now: number, options: { by?: Actor | undefined } = {}): Promise<void> {
  await getScope(store, name);
  const users = (await store.listClients()).filter((client) => client.scopes.includes(name));
  if (users.length > 0) {
    const named = users
      .slice(0, 5)
      .map((client) => `${client.name} (${client.id})`)
      .join(', ');
    throw ValidationError.field(
      'name',
      `scope ${name} is still allowed to ${users.length} client${users.length === 1 ? '' : 's'}: ${named}${users.length > 5 ? ', ...' : ''}; remove it from them first`,
    );
  }
  await store.transaction(async (tx) => {
    await tx.admin.deleteScope(name);
    await tx.recordAudit(auditEvent(options.by ?? SYSTEM, 'scope.deleted', name), now);
  });
}

export function scopeView(scope: Scope & { clients?: number }): Record<string, unknown> {
  return { name: scope.name, description: scope.description, default: scope.isDefault, ...(scope.clients === undefined ? {} : { clients: scope.clients }) };
}
