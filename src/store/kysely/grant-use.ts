/** When a token response records its grant's use (saveIssue, on both dialects). */
import type { TokenIssue } from '../../core/ports.js';

/**
 * How precisely a grant's last use is recorded. At most once a minute per grant:
 * a machine grant used by every client-credentials request would otherwise be
 * one row that every token request rewrites (and, on PostgreSQL, waits to lock).
 */
export const GRANT_USE_RESOLUTION_MS = 60_000;

/**
 * Whether the grant, as loaded, is due a new record of its use. When it is not,
 * nothing is sent for it at all; when it is, the statement's own condition
 * (`last_used_at` still older than the minute) settles a race.
 */
export function grantUseDue(grant: TokenIssue['grant'], now: number): boolean {
  return grant.lastUsedAt === null || now - grant.lastUsedAt >= GRANT_USE_RESOLUTION_MS || now < grant.lastUsedAt;
}
