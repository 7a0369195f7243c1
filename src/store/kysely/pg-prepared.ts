/**
 * Server-side prepared statements for the store's hot queries on PostgreSQL.
 * Kysely sends every query unnamed, so PostgreSQL parses and plans it each
 * time; the texts the store compiles once (prepared.ts) are sent named
 * instead, so each connection parses and plans them once. Other queries
 * (admin filters with varying shapes) stay unnamed: a named statement lives
 * as long as its connection, and those shapes are unbounded.
 */
import { createHash } from 'node:crypto';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

const preparedTexts = new Set<string>();

/** Marks an SQL text as one to run as a named prepared statement (called by prepared.ts). */
export function registerPreparedText(sql: string): void {
  preparedTexts.add(sql);
}

function statementName(sql: string): string {
  return `lk_${createHash('sha256').update(sql).digest('base64url').slice(0, 22)}`;
}

const NAMED = Symbol('latchkey.namedStatements');

type QueryFunction = (config: unknown, values?: unknown) => unknown;

export function withPreparedStatements(pool: pg.Pool): PostgresPool {
  const names = new Map<string, string>();
  return {
    async connect() {
      const client = (await pool.connect()) as pg.PoolClient & { [NAMED]?: true };
      if (!client[NAMED]) {
        const query = client.query.bind(client) as QueryFunction;
        let stale = false;
        (client as unknown as { query: QueryFunction }).query = (text, values) => {
          if (stale || typeof text !== 'string' || !preparedTexts.has(text)) return query(text, values);
          let name = names.get(text);
          if (name === undefined) {
            name = statementName(text);
            names.set(text, name);
          }
          return (query({ name, text, values }) as Promise<unknown>).catch((error: { code?: string }) => {
            // 0A000 "cached plan must not change result type": another instance migrated the
            // schema under this connection's statements. Run unnamed on it from now on.
            if (error?.code !== '0A000') throw error;
            stale = true;
            return query(text, values);
          });
        };
        client[NAMED] = true;
      }
      return client as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}
