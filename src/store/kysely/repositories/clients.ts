/** Clients and their secrets. */
import type { Client } from '../../../core/model.js';
import type { ClientLookup } from '../../../core/ports.js';
import { newId } from '../../../core/secrets.js';
import type { ClientChanges, NewClient } from '../../types.js';
import type { LoadedClient } from '../caches.js';
import { prepared } from '../prepared.js';
import { deepFreeze } from '../read-cache.js';
import { toClient } from '../rows.js';
import type { ClientsTable } from '../schema.js';
import { KyselyRepository } from './repository.js';

/** Client authentication's lookups, compiled once (prepared.ts). */
const HOT = {
  findClient: prepared(1, (db, id: string) => db.selectFrom('clients').selectAll().where('id', '=', id).where('destroyed_at', 'is', null)),
  findClientWithSecrets: prepared(2, (db, id: string, now: number) =>
    db
      .selectFrom('clients as c')
      .leftJoin('client_secrets as s', (join) =>
        join.onRef('s.client_id', '=', 'c.id').on((eb) => eb.or([eb('s.expires_at', 'is', null), eb('s.expires_at', '>', now)])),
      )
      .selectAll('c')
      .select(['s.secret_hash as s_secret_hash', 's.expires_at as s_expires_at'])
      .where('c.id', '=', id)
      .where('c.destroyed_at', 'is', null),
  ),
};

export class KyselyClientRepository extends KyselyRepository implements ClientLookup {
  async findClient(clientId: string): Promise<Client | undefined> {
    const row = (await HOT.findClient.execute(this.store, clientId)).rows[0];
    return row && toClient(row);
  }

  /**
   * A client and its secrets are reused once loaded: client authentication
   * precedes every token request, and the lookup was one of a refresh's three
   * round trips on PostgreSQL, and some 8% of a refresh's CPU on SQLite.
   * - PostgreSQL: a change made through any process empties the cache of
   *   every other as it commits (pg-changes.ts); while this process is not
   *   listening for those, nothing is served from it. So a secret rotated out,
   *   or a client destroyed, stops working everywhere within the
   *   notification's delivery, not the cache's lifetime; the lifetime bounds
   *   only a change written to the database by hand, or a listener cut off
   *   without a word.
   * - SQLite: before the cache serves, it asks the file whether another
   *   connection has committed since (sqlite-changes.ts), by hand included,
   *   and empties every cache if one has: such a change applies to the next
   *   request.
   * A change made through this process empties it as it commits. Each
   * secret's expiry is checked at `now`, cached or not.
   */
  async findClientWithSecrets(clientId: string, now: number): Promise<{ client: Client; secretHashes: string[] } | undefined> {
    const { clients, changes } = this.store.caches;
    let loaded: LoadedClient | undefined;
    // Inside a transaction, reads see the transaction's own writes: no cache.
    if (clients === undefined || this.db.isTransaction) {
      loaded = await this.loadClient(clientId, now);
    } else {
      changes?.start();
      loaded = clients.get(clientId);
      if (loaded === undefined) {
        const generation = clients.generation;
        loaded = await this.loadClient(clientId, now);
        // Shared by requests, so frozen against a caller's edits.
        if (loaded) clients.set(clientId, deepFreeze(loaded), generation);
      }
    }
    if (!loaded) return undefined;
    return { client: loaded.client, secretHashes: loaded.secrets.flatMap((secret) => (secret.expiresAt === null || secret.expiresAt > now ? [secret.hash] : [])) };
  }

  private async loadClient(clientId: string, now: number): Promise<LoadedClient | undefined> {
    // One row per secret valid at `now` (one with a null hash when there is none).
    const { rows } = await HOT.findClientWithSecrets.execute(this.store, clientId, now);
    const first = rows[0];
    if (!first) return undefined;
    return {
      client: toClient(first),
      secrets: rows.flatMap((row) => (row.s_secret_hash === null ? [] : [{ hash: row.s_secret_hash, expiresAt: row.s_expires_at }])),
    };
  }

  async createClient(client: NewClient, secretHash: string | null, now: number): Promise<Client> {
    const id = newId('lkc_');
    await this.store.transaction(async ({ db }) => {
      await db
        .insertInto('clients')
        .values({
          id,
          name: client.name,
          redirect_uris: JSON.stringify(client.redirectUris),
          scopes: JSON.stringify(client.scopes),
          grant_types: JSON.stringify(client.grantTypes),
          is_public: client.isPublic ? 1 : 0,
          is_legacy: client.isLegacy ? 1 : 0,
          access_token_ttl: client.accessTokenTtlSeconds ?? null,
          refresh_token_ttl: client.refreshTokenTtlSeconds ?? null,
          partner_id: client.partnerId ?? null,
          created_at: now,
          updated_at: now,
          access_token_format: client.accessTokenFormat ?? null,
          is_resource_server: client.isResourceServer ? 1 : 0,
        })
        .execute();
      if (secretHash !== null) {
        await db
          .insertInto('client_secrets')
          .values({ id: newId('cs_'), client_id: id, secret_hash: secretHash, created_at: now, expires_at: null })
          .execute();
      }
    });
    const created = await this.findClient(id);
    if (!created) throw new Error('client vanished after insert');
    return created;
  }

  async listClients(): Promise<Client[]> {
    const rows = await this.db.selectFrom('clients').selectAll().where('destroyed_at', 'is', null).orderBy('created_at').orderBy('id').execute();
    return rows.map(toClient);
  }

  async updateClient(clientId: string, changes: ClientChanges, now: number): Promise<Client | undefined> {
    const values: Partial<ClientsTable> = { updated_at: now };
    if (changes.name !== undefined) values.name = changes.name;
    if (changes.redirectUris !== undefined) values.redirect_uris = JSON.stringify(changes.redirectUris);
    if (changes.scopes !== undefined) values.scopes = JSON.stringify(changes.scopes);
    if (changes.grantTypes !== undefined) values.grant_types = JSON.stringify(changes.grantTypes);
    if (changes.isPublic !== undefined) values.is_public = changes.isPublic ? 1 : 0;
    if (changes.isLegacy !== undefined) values.is_legacy = changes.isLegacy ? 1 : 0;
    if (changes.accessTokenTtlSeconds !== undefined) values.access_token_ttl = changes.accessTokenTtlSeconds;
    if (changes.refreshTokenTtlSeconds !== undefined) values.refresh_token_ttl = changes.refreshTokenTtlSeconds;
    if (changes.partnerId !== undefined) values.partner_id = changes.partnerId;
    if (changes.accessTokenFormat !== undefined) values.access_token_format = changes.accessTokenFormat;
    if (changes.isResourceServer !== undefined) values.is_resource_server = changes.isResourceServer ? 1 : 0;
    // The change and its notification commit together (rowsChanged).
    const updated = await this.store.transaction(async (tx) => {
      const result = await tx.db.updateTable('clients').set(values).where('id', '=', clientId).where('destroyed_at', 'is', null).executeTakeFirst();
      await tx.rowsChanged();
      return result.numUpdatedRows > 0n;
    });
    if (!updated) return undefined;
    return this.findClient(clientId);
  }

  async rotateClientSecret(clientId: string, secretHash: string, now: number, oldSecretsExpireAt: number): Promise<void> {
    await this.store.transaction(async (tx) => {
      await tx.db
        .updateTable('client_secrets')
        .set({ expires_at: oldSecretsExpireAt })
        .where('client_id', '=', clientId)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', oldSecretsExpireAt)]))
        .execute();
      await tx.db
        .insertInto('client_secrets')
        .values({ id: newId('cs_'), client_id: clientId, secret_hash: secretHash, created_at: now, expires_at: null })
        .execute();
      await tx.rowsChanged();
    });
  }
}
