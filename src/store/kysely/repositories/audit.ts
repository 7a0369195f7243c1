/** The audit trail: security events, recorded and told to the process's observers (metrics). */
import type { AuditEvent } from '../../types.js';
import { KyselyRepository } from './repository.js';

export class KyselyAuditRepository extends KyselyRepository {
  async recordAudit(event: AuditEvent, now: number): Promise<void> {
    await this.db
      .insertInto('audit_events')
      .values({
        at: now,
        type: event.type,
        actor: event.actor,
        ip: event.ip,
        subject: event.subject,
        detail: JSON.stringify(event.detail),
      })
      .execute();
    for (const listener of this.store.hooks.audit) {
      try {
        listener(event);
      } catch {
        // An observer never fails the operation it observes.
      }
    }
  }
}
