/** Browser sessions (their ids stored as hashes). */
import type { Session } from '../../types.js';
import { KyselyRepository } from './repository.js';

export class KyselySessionRepository extends KyselyRepository {
  async createSession(session: Session): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values({
        id_hash: session.idHash,
        user_id: session.userId,
        csrf_token: session.csrfToken,
        created_at: session.createdAt,
        expires_at: session.expiresAt,
        authenticated_at: session.authenticatedAt,
      })
      .execute();
  }

  async findSession(idHash: string, now: number): Promise<Session | undefined> {
    const row = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('id_hash', '=', idHash)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      idHash: row.id_hash,
      userId: row.user_id,
      csrfToken: row.csrf_token,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      authenticatedAt: row.authenticated_at,
    };
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }
}
