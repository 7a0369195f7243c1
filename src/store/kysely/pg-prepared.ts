/**
 * Server-side prepared statements for the store's hot queries on PostgreSQL.
 * Kysely sends every query unnamed, so PostgreSQL parses and plans it each
 * time; the texts the store compiles once (prepared.ts) are sent named
 * instead, so each connection parses and plans them once. Other queries
 * (admin filters with varying shapes) stay unnamed: a named statement lives
 * as long as its connection, and those shapes are unbounded.
 *
 * Their rows come as one json column, unwrapped here into the objects
 * node-postgres would have made. node-postgres asks for and parses the row
 * description on every execution, named or not, and builds a template row
 * from it (a copy of a dictionary-mode object): measured under callgrind,
 * some 7,000 instructions per column, a fifth of a code exchange's for its 21
 * columns (bench/ANALYSIS.md, fourteenth pass). One json column is one
 * field, and JSON.parse builds each row. The same values come back: every
 * column of the schema is text, integer or bigint, and to_json writes
 * integers as JSON numbers, as the BIGINT parser (open.ts) reads them.
 */
import { createHash } from 'node:crypto';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

interface PreparedText {
  /** The statement's name on each connection. */
  name: string;
  /** What is sent: the text, or a SELECT wrapped to answer one json column `row`. */
  sent: string;
  /** Whether the answer's rows are `{ row }`, to be unwrapped. */
  json: boolean;
}

const preparedTexts = new Map<string, PreparedText>();

/**
 * Marks an SQL text as one to run as a named prepared statement (prepared.ts,
 * one-step.ts, token-issue.ts). A SELECT is sent wrapped so that its rows come
 * as one json column; `answersJson` says the text already answers so (a
 * statement with data-modifying WITH queries cannot be wrapped: its final
 * SELECT must be `SELECT to_json(...) AS row`).
 */
export function registerPreparedText(sql: string, options: { answersJson?: boolean } = {}): void {
  if (preparedTexts.has(sql)) return;
  const select = /^select\s/i.test(sql);
  const sent = select ? `select to_json(q) as row from (${sql}) as q` : sql;
  preparedTexts.set(sql, { name: statementName(sent), sent, json: select || options.answersJson === true });
}

function statementName(sql: string): string {
  return `lk_${createHash('sha256').update(sql).digest('base64url').slice(0, 22)}`;
}

/** Replaces each `{ row }` by its row, in place. */
function unwrapRows(result: pg.QueryResult<{ row: unknown }>): pg.QueryResult {
  const rows = result.rows as unknown[];
  for (let index = 0; index < rows.length; index++) rows[index] = (rows[index] as { row: unknown }).row;
  return result;
}

const NAMED = Symbol('latchkey.namedStatements');

type QueryFunction = (config: unknown, values?: unknown) => Promise<pg.QueryResult>;

export function withPreparedStatements(pool: pg.Pool): PostgresPool {
  return {
    async connect() {
      const client = (await pool.connect()) as pg.PoolClient & { [NAMED]?: true };
      if (!client[NAMED]) {
        const query = client.query.bind(client) as QueryFunction;
        let stale = false;
        (client as unknown as { query: QueryFunction }).query = (text, values) => {
          const prepared = typeof text === 'string' ? preparedTexts.get(text) : undefined;
          if (prepared === undefined) return query(text, values);
          const { name, sent, json } = prepared;
          const answer = stale
            ? query(sent, values)
            : query({ name, text: sent, values }).catch((error: { code?: string }) => {
                // 0A000 "cached plan must not change result type": another instance migrated the
                // schema under this connection's statements. Run unnamed on it from now on.
                if (error?.code !== '0A000') throw error;
                stale = true;
                return query(sent, values);
              });
          return json ? answer.then(unwrapRows) : answer;
        };
        client[NAMED] = true;
      }
      return client as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}
