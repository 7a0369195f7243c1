/** Sign-in attempt counters (src/core/lockout.ts), when they are kept in the database rather than Redis. */
import { sql } from 'kysely';
import type { AttemptCount, AttemptCounter } from '../../../core/lockout.js';
import { KyselyRepository } from './repository.js';

export class KyselyAttemptRepository extends KyselyRepository implements AttemptCounter {
  /** One atomic upsert: concurrent attempts on any instance each get their own count. */
  async countAttempt(bucket: string, windowMs: number, now: number): Promise<AttemptCount> {
    const resetAt = now + windowMs;
    const row = await this.db
      .insertInto('rate_limits')
      .values({ bucket, count: 1, expires_at: resetAt })
      .onConflict((oc) =>
        oc.column('bucket').doUpdateSet({
          count: sql<number>`case when rate_limits.expires_at <= ${now} then 1 else rate_limits.count + 1 end`,
          expires_at: sql<number>`case when rate_limits.expires_at <= ${now} then ${resetAt} else rate_limits.expires_at end`,
        }),
      )
      .returning(['count', 'expires_at'])
      .executeTakeFirstOrThrow();
    return { count: Number(row.count), resetAt: Number(row.expires_at) };
  }

  async refundAttempt(bucket: string, now: number): Promise<void> {
    await this.db
      .updateTable('rate_limits')
      .set({ count: sql<number>`count - 1` })
      .where('bucket', '=', bucket)
      .where('count', '>', 0)
      .where('expires_at', '>', now)
      .execute();
  }

  async holdAttempts(bucket: string, until: number): Promise<void> {
    await this.db.updateTable('rate_limits').set({ expires_at: until }).where('bucket', '=', bucket).where('expires_at', '<', until).execute();
  }

  async clearAttempts(bucket: string): Promise<void> {
    await this.db.deleteFrom('rate_limits').where('bucket', '=', bucket).execute();
  }
}
