/** Partners: the companies behind clients, credited with the accounts created through them. */
import type { Partner } from '../core/model.js';
import { DuplicateError, type Store } from '../store/types.js';
import { ValidationError } from './errors.js';

export async function registerPartner(store: Store, input: { name: string; partnerPortalId: string }, now: number): Promise<Partner> {
  const name = input.name.trim();
  const partnerPortalId = input.partnerPortalId.trim();
  if (name === '' || name.length > 200) throw new ValidationError('name must be 1 to 200 characters');
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(partnerPortalId)) {
    throw new ValidationError('partner_portal_id must be 1 to 100 letters, digits, dots, dashes or underscores');
  }
  try {
    return await store.transaction(async (tx) => {
      const partner = await tx.createPartner({ name, partnerPortalId }, now);
      await tx.recordAudit({ type: 'partner.created', actor: null, ip: null, subject: partner.id, detail: { name, partnerPortalId } }, now);
      return partner;
    });
  } catch (error) {
    if (error instanceof DuplicateError) throw new ValidationError(`a partner with partner_portal_id ${partnerPortalId} already exists`);
    throw error;
  }
}
