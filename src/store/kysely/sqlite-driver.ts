/**
 * Latchkey's SQLite driver for Kysely: one writer connection, one reader
 * connection, and commits made durable without blocking the event loop.
 *
 * Kysely's own SQLite driver runs every query, reads included, through one
 * connection behind one mutex, and better-sqlite3 waits for the disk on the
 * event loop's thread. Under load that serialises everything behind each
 * commit's sync. Here:
 *
 * - Reads outside a transaction run on the writer when no transaction holds
 *   it (its page cache stays warm across its own commits), and otherwise on a
 *   second, read-only connection: in WAL mode it sees every committed
 *   transaction and never waits for the writer. Neither sees a transaction
 *   in progress.
 * - Transactions and writes hold the writer's mutex, as before.
 * - Durability (the default, sqliteSynchronous=full): SQLite runs with
 *   synchronous=NORMAL, so a COMMIT only writes its WAL frames, and the driver
 *   then fsyncs the WAL file in libuv's thread pool and resolves the commit
 *   (or the autocommit write) only once that sync returns. The writer's mutex
 *   is released before the sync, so the next transaction is written while
 *   the disk syncs the previous one; one sync covers every commit before it.
 *   Nothing is answered before its commit is on disk, as with synchronous=FULL.
 * - The store's prepared queries (prepared.ts) may run at once, off Kysely's
 *   executor (`ImmediateQueries`): better-sqlite3 answers synchronously, and
 *   the executor's layers of promises (connection provider, logging wrapper,
 *   driver) cost more than a token lookup's statement itself. They are routed
 *   exactly as above and logged as Kysely logs (query metrics); only a write
 *   outside a transaction, which waits for the writer and the sync, takes the
 *   executor's path.
 */
import { closeSync, fsync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';
import BetterSqlite3 from 'better-sqlite3';
import { type CompiledQuery, type DatabaseConnection, type Driver, type LogEvent, type QueryResult, SqliteDialect } from 'kysely';
import { runWith } from './bind-values.js';
import { type CachedDatabase, type CachedStatement, withStatementCache } from './statement-cache.js';

class Mutex {
  private holder: Promise<void> | undefined;
  private release: (() => void) | undefined;

  async lock(): Promise<void> {
    while (this.holder) await this.holder;
    this.holder = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  /** True while a transaction or a write holds the writer. */
  get held(): boolean {
    return this.holder !== undefined;
  }

  unlock(): void {
    const release = this.release;
    this.holder = undefined;
    this.release = undefined;
    release?.();
  }
}

/** fsync of the WAL file, shared: a caller waits for the first sync that starts after its call. */
class WalSync {
  private fd: number | undefined;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly walFile: string) {}

  sync(): Promise<void> {
    // A sync already queued behind the running one starts after this call: it covers this call's writes.
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    this.queued = this.running.then(
      () => this.afterRunning(),
      () => this.afterRunning(),
    );
    return this.queued;
  }

  private afterRunning(): Promise<void> {
    this.queued = undefined;
    return this.start();
  }

  private start(): Promise<void> {
    const running = new Promise<void>((resolve, reject) => {
      fsync(this.descriptor(), (error) => (error ? reject(error) : resolve()));
    }).finally(() => {
      if (this.running === running) this.running = undefined;
    });
    this.running = running;
    return running;
  }

  private descriptor(): number {
    if (this.fd === undefined) {
      this.fd = openSync(this.walFile, 'r');
      // The WAL file's directory entry must be durable too, once.
      const directory = openSync(dirname(this.walFile), 'r');
      try {
        fsyncSync(directory);
      } finally {
        closeSync(directory);
      }
    }
    return this.fd;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

interface Handles {
  writer: Pick<CachedDatabase, 'prepare'> & { readonly inTransaction: boolean };
  /** Undefined for an in-memory database, whose second connection would be another database. */
  reader: Pick<CachedDatabase, 'prepare'> | undefined;
  writerLock: Mutex;
  wal: WalSync | undefined;
}

function result({ statement, rows }: CachedStatement, parameters: readonly unknown[]): QueryResult<unknown> {
  if (rows) return { rows: rows(parameters) };
  const { changes, lastInsertRowid } = runWith(statement, parameters);
  return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
}

/**
 * Where a query runs without waiting: in the caller's transaction, on the
 * writer; a read outside one, on the writer when no transaction holds it,
 * else on the reader. Undefined for a write outside a transaction (and any
 * query of an in-memory database outside one): it waits for the writer.
 */
function immediateStatement({ writer, reader, writerLock }: Handles, sql: string, inTransaction: boolean): CachedStatement | undefined {
  const cached = writer.prepare(sql);
  if (inTransaction) return cached;
  // readonly: the statement changes nothing (an INSERT ... RETURNING is a reader, but not read-only).
  if (!cached.statement.readonly || !reader) return undefined;
  // An idle writer reads with its own page cache, which every commit of its own leaves warm;
  // the reader's cache is dropped whenever another connection has committed since its last read.
  return writerLock.held ? reader.prepare(sql) : cached;
}

class RoutedConnection implements DatabaseConnection {
  inTransaction = false;

  constructor(private readonly handles: Handles) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const immediate = immediateStatement(this.handles, query.sql, this.inTransaction);
    if (immediate) return result(immediate, query.parameters) as QueryResult<R>;
    const { writer, writerLock, wal } = this.handles;
    const cached = writer.prepare(query.sql);
    await writerLock.lock();
    let outcome: QueryResult<unknown>;
    try {
      outcome = result(cached, query.parameters);
    } finally {
      writerLock.unlock();
    }
    // An autocommit write is durable before it is reported, like a COMMIT.
    if (wal && !cached.statement.readonly) await wal.sync();
    return outcome as QueryResult<R>;
  }

  // biome-ignore lint/correctness/useYield: Kysely's interface; streaming is not used by the store.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the SQLite driver does not stream');
  }
}

class RoutedDriver implements Driver {
  constructor(private readonly handles: Handles & { close(): void }) {}

  async init(): Promise<void> {}

  /**
   * Connections handed back, for the next query: Kysely wraps each connection
   * object it has not seen before with its query logging (two closures and a
   * WeakSet entry), which, with a new object per query, every query paid.
   */
  private readonly idle: RoutedConnection[] = [];

  async acquireConnection(): Promise<DatabaseConnection> {
    return this.idle.pop() ?? new RoutedConnection(this.handles);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await this.handles.writerLock.lock();
    try {
      // IMMEDIATE: the write lock is taken now, waiting (busy_timeout) for another
      // process's writer. A deferred transaction that reads first holds a snapshot
      // that another process's commit can make stale, and its first write then
      // fails at once (SQLITE_BUSY_SNAPSHOT) rather than wait. Within one process
      // the writer's mutex already serialises transactions: this costs nothing.
      this.handles.writer.prepare('begin immediate').statement.run();
    } catch (error) {
      this.handles.writerLock.unlock();
      throw error;
    }
    (connection as RoutedConnection).inTransaction = true;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    this.end(connection, 'commit');
    await this.handles.wal?.sync();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    this.end(connection, 'rollback');
  }

  /** COMMIT or ROLLBACK, then let the next writer in (before any sync: see the module comment). */
  private end(connection: DatabaseConnection, command: 'commit' | 'rollback'): void {
    const routed = connection as RoutedConnection;
    try {
      this.handles.writer.prepare(command).statement.run();
    } finally {
      // A failed COMMIT leaves SQLite in the transaction; roll it back so the writer is usable.
      if (this.handles.writer.inTransaction) this.handles.writer.prepare('rollback').statement.run();
      routed.inTransaction = false;
      this.handles.writerLock.unlock();
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    // Only as many are kept as were ever in use at once (at most 64): a connection is two fields.
    const routed = connection as RoutedConnection;
    if (!routed.inTransaction && this.idle.length < 64) this.idle.push(routed);
  }

  async destroy(): Promise<void> {
    this.handles.close();
  }
}

/** Runs a compiled query now, on the statement cache, where the driver would run it without waiting. */
export interface ImmediateQueries {
  /**
   * The query's result, or undefined when it must wait (a write outside a
   * transaction: the writer's mutex, then the sync). `inTransaction`: the
   * caller is in the transaction that holds the writer. Throws what
   * better-sqlite3 throws.
   */
  run(query: CompiledQuery, inTransaction: boolean): QueryResult<unknown> | undefined;
}

export interface SqliteOptions {
  file: string;
  /** full (default): every commit on disk before it is reported; normal: synced at checkpoints only. */
  synchronous: 'full' | 'normal';
}

/**
 * Opens the writer (and, for a file, the reader) and returns the Kysely
 * dialect over them, and the same connections' immediate queries, logged to
 * `log` (Kysely's log function, given to the Kysely instance over this dialect too).
 */
export interface OpenedSqlite {
  dialect: SqliteDialect;
  immediate: ImmediateQueries;
  /**
   * The writer connection's `PRAGMA data_version`, undefined once closed: it
   * changes when, and only when, another connection (another process, the
   * CLI, the sqlite3 shell) has committed since it was last read. This
   * process's own commits leave it as is: they go through the writer, and the
   * reader writes nothing (sqlite-changes.ts).
   */
  dataVersion: () => number | undefined;
}

export function openSqlite(options: SqliteOptions, log?: (event: LogEvent) => void): OpenedSqlite {
  const database: Database = new BetterSqlite3(options.file);
  database.pragma('journal_mode = WAL');
  // The durable setting syncs the WAL itself, off the event loop (see above).
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  // A group commit's savepoints keep a journal of the pages each unit changes. By default
  // SQLite spills it past 64 KiB to a file in the system's temporary directory, created and
  // deleted by every such batch: six system calls and its writes, and a failed write where
  // that directory is read-only (a container's root file system) although the data
  // directory is not. In memory it costs some malloc calls instead (bench/ANALYSIS.md).
  database.pragma('temp_store = MEMORY');
  database.pragma('busy_timeout = 5000');
  const inMemory = options.file === ':memory:' || options.file === '';
  let readerDatabase: Database | undefined;
  if (!inMemory) {
    readerDatabase = new BetterSqlite3(options.file, { readonly: true });
    readerDatabase.pragma('busy_timeout = 5000');
  }
  const writer = withStatementCache(database);
  const reader = readerDatabase && withStatementCache(readerDatabase);
  const wal = options.synchronous === 'full' && !inMemory ? new WalSync(`${options.file}-wal`) : undefined;
  const handles = {
    writer: {
      prepare: (sql: string) => writer.prepare(sql),
      get inTransaction() {
        return database.inTransaction;
      },
    },
    reader,
    writerLock: new Mutex(),
    wal,
    close() {
      wal?.close();
      reader?.close();
      writer.close();
    },
  };
  // The dialect's own driver, the only user of `database`, is replaced by the routed one.
  const dialect = new (class extends SqliteDialect {
    override createDriver(): Driver {
      return new RoutedDriver(handles);
    }
  })({ database });
  const dataVersion = database.prepare('pragma data_version').pluck();
  return {
    dialect,
    immediate: immediateQueries(handles, log),
    dataVersion: () => (database.open ? (dataVersion.get() as number) : undefined),
  };
}

function immediateQueries(handles: Handles, log: ((event: LogEvent) => void) | undefined): ImmediateQueries {
  return {
    run(query, inTransaction) {
      // As Kysely's logging wrapper reports them: the query's duration, or its error (preparing it included).
      const startTime = log ? performance.now() : 0;
      let outcome: QueryResult<unknown>;
      try {
        const statement = immediateStatement(handles, query.sql, inTransaction);
        if (!statement) return undefined;
        outcome = result(statement, query.parameters);
      } catch (error) {
        log?.({ level: 'error', error, query, queryDurationMillis: performance.now() - startTime });
        throw error;
      }
      log?.({ level: 'query', isStream: false, query, queryDurationMillis: performance.now() - startTime });
      return outcome;
    },
  };
}
