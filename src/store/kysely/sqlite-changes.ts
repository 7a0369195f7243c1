/**
 * Changes to cached rows committed to one SQLite file by other connections:
 * another server process, the CLI beside the server, the sqlite3 shell.
 * SQLite has no notifications (PostgreSQL's are in pg-changes.ts), but each
 * connection's `PRAGMA data_version` changes when, and only when, another
 * connection has committed since it was last read. Read on the writer, which
 * makes every commit of this process, it does not move with this process's
 * own writes; those empty the caches themselves (KyselyStore.rowsChanged).
 *
 * Reading it costs a read transaction's start, a few microseconds; a client's
 * lookup with its secrets costs several times that (bench/ANALYSIS.md).
 */

/**
 * Returns a check to run before a cache serves from memory: it calls
 * `changed` if another connection has committed since the previous check (or
 * since this call), so that what it serves was read after every commit
 * before the check.
 */
export function otherConnectionsCommits(dataVersion: () => number | undefined, changed: () => void): () => void {
  let seen = dataVersion();
  return () => {
    const version = dataVersion();
    if (version === undefined || version === seen) return;
    seen = version;
    changed();
  };
}
