/** Partners: the companies whose clients and accounts belong together. */
import type { Partner } from '../../../core/model.js';
import type { PartnerRepository } from '../../../core/ports.js';
import { newId } from '../../../core/secrets.js';
import { DuplicateError } from '../../types.js';
import { isUniqueViolation, toPartner } from '../rows.js';
import { KyselyRepository } from './repository.js';

export class KyselyPartnerRepository extends KyselyRepository implements PartnerRepository {
  async createPartner(partner: { name: string; partnerPortalId: string }, now: number): Promise<Partner> {
    const created: Partner = { id: newId('ptn_'), name: partner.name, partnerPortalId: partner.partnerPortalId, createdAt: now };
    try {
      await this.db
        .insertInto('partners')
        .values({ id: created.id, name: created.name, partner_portal_id: created.partnerPortalId, created_at: now })
        .execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError('a partner with this partner_portal_id');
      throw error;
    }
    return created;
  }

  async listPartners(): Promise<Partner[]> {
    const rows = await this.db.selectFrom('partners').selectAll().orderBy('name').execute();
    return rows.map(toPartner);
  }

  async findPartner(partnerId: string): Promise<Partner | undefined> {
    const row = await this.db.selectFrom('partners').selectAll().where('id', '=', partnerId).executeTakeFirst();
    return row && toPartner(row);
  }

  async findPartnerByPortalId(partnerPortalId: string): Promise<Partner | undefined> {
    const row = await this.db.selectFrom('partners').selectAll().where('partner_portal_id', '=', partnerPortalId).executeTakeFirst();
    return row && toPartner(row);
  }

  async linkAccountToPartner(accountId: string, partnerId: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      await tx.db.updateTable('accounts').set({ partner_id: partnerId }).where('id', '=', accountId).where('partner_id', 'is', null).execute();
      await tx.rowsChanged();
    });
  }
}
