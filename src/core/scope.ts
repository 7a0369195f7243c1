/** Scope strings (RFC 6749 §3.3). */
import type { Client, Scope } from './model.js';

/** scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Splits a space-delimited scope string; undefined when it is malformed. */
export function parseScope(value: string | undefined): string[] | undefined {
  if (value === undefined) return [];
  const tokens = value.split(' ').filter((token) => token.length > 0);
  if (!tokens.every((token) => SCOPE_TOKEN.test(token))) return undefined;
  return [...new Set(tokens)];
}

export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}

export function formatScope(scopes: readonly string[]): string {
  return scopes.join(' ');
}

export function isSubset(requested: readonly string[], allowed: readonly string[]): boolean {
  const set = new Set(allowed);
  return requested.every((scope) => set.has(scope));
}

/**
 * RFC 6749 §3.3: without a scope parameter the server uses "a pre-defined
 * default value": the registry's default scopes this client may use, or else
 * every scope the client may use.
 */
export function defaultScopes(client: Client, registry: readonly Scope[]): string[] {
  const defaults = new Set(registry.filter((scope) => scope.isDefault).map((scope) => scope.name));
  const allowedDefaults = client.scopes.filter((scope) => defaults.has(scope));
  return allowedDefaults.length > 0 ? allowedDefaults : [...client.scopes];
}
