/** Users, the accounts they belong to, and a token's parties (its client, user and account) together. */
import type { Account, User } from '../../../core/model.js';
import type { SubjectLookup } from '../../../core/ports.js';
import { newId } from '../../../core/secrets.js';
import { DuplicateError, type NewUser } from '../../types.js';
import type { Parties } from '../caches.js';
import { prepared } from '../prepared.js';
import { deepFreeze } from '../read-cache.js';
import { isUniqueViolation, toAccount, toClient, toUser } from '../rows.js';
import { KyselyRepository } from './repository.js';

type PartyIds = { clientId: string; userId: string | null; accountId: string | null };

/** The resource guard's lookups, compiled once (prepared.ts). */
const HOT = {
  findUser: prepared(1, (db, id: string) => db.selectFrom('users').selectAll().where('id', '=', id)),
  findAccount: prepared(1, (db, id: string) => db.selectFrom('accounts').selectAll().where('id', '=', id)),
  findParties: prepared(3, (db, clientId: string, userId: string | null, accountId: string | null) =>
    db
      .selectFrom('clients as c')
      .leftJoin('users as u', (join) => join.on('u.id', '=', userId as string))
      .leftJoin('accounts as a', (join) => join.on('a.id', '=', accountId as string))
      .selectAll('c')
      .select([
        'u.id as u_id',
        'u.email as u_email',
        'u.password_hash as u_password_hash',
        'u.first_name as u_first_name',
        'u.last_name as u_last_name',
        'u.is_admin as u_is_admin',
        'u.locked_at as u_locked_at',
        'u.created_at as u_created_at',
        'u.updated_at as u_updated_at',
        'a.id as a_id',
        'a.name as a_name',
        'a.kind as a_kind',
        'a.partner_id as a_partner_id',
        'a.created_at as a_created_at',
      ])
      .where('c.id', '=', clientId)
      .where('c.destroyed_at', 'is', null),
  ),
};

export class KyselyUserRepository extends KyselyRepository implements SubjectLookup {
  async createUser(user: NewUser, now: number): Promise<User> {
    const row = {
      id: newId('usr_'),
      email: user.email.toLowerCase(),
      password_hash: user.passwordHash,
      first_name: user.firstName,
      last_name: user.lastName,
      is_admin: user.isAdmin ? 1 : 0,
      locked_at: null,
      created_at: now,
      updated_at: now,
    };
    try {
      await this.db.insertInto('users').values(row).execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError('a user with this email');
      throw error;
    }
    return toUser(row);
  }

  async findUserByEmail(email: string): Promise<User | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('email', '=', email.toLowerCase())
      .executeTakeFirst();
    return row && toUser(row);
  }

  async findUser(userId: string): Promise<User | undefined> {
    const row = (await HOT.findUser.execute(this.store, userId)).rows[0];
    return row && toUser(row);
  }

  async countUsers(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async createAccount(account: { name: string; kind: string; partnerId: string | null }, now: number): Promise<Account> {
    const created: Account = { id: newId('acc_'), name: account.name, kind: account.kind, partnerId: account.partnerId, createdAt: now };
    await this.db
      .insertInto('accounts')
      .values({ id: created.id, name: created.name, kind: created.kind, partner_id: created.partnerId, created_at: now })
      .execute();
    return created;
  }

  async addMembership(userId: string, accountId: string, role: string, now: number): Promise<void> {
    await this.db
      .insertInto('memberships')
      .values({ user_id: userId, account_id: accountId, role, created_at: now })
      .onConflict((oc) => oc.columns(['user_id', 'account_id']).doNothing())
      .execute();
  }

  async listAccountsOfUser(userId: string): Promise<Account[]> {
    const rows = await this.db
      .selectFrom('accounts')
      .innerJoin('memberships', 'memberships.account_id', 'accounts.id')
      .selectAll('accounts')
      .where('memberships.user_id', '=', userId)
      .orderBy('accounts.name')
      .orderBy('accounts.id')
      .execute();
    return rows.map(toAccount);
  }

  async findAccount(accountId: string): Promise<Account | undefined> {
    const row = (await HOT.findAccount.execute(this.store, accountId)).rows[0];
    return row && toAccount(row);
  }

  /**
   * The client, user and account behind an access token, reused for the
   * cache's lifetime once loaded: a guarded route that loads them (`/api/me`)
   * would otherwise join three tables on every call, which costs more than the
   * rest of a JWT bearer check (measured: about 40% of the request).
   *
   * What it may serve stale: changes made through this process (a client
   * updated or destroyed, a user locked, an account linked to a partner) empty
   * it as they commit; on PostgreSQL so do other processes' (pg-changes.ts).
   * On SQLite another process's change (the CLI beside the server) arrives
   * within the lifetime, or sooner if a client or scope lookup notices it
   * first (sqlite-changes.ts): the bearer check does not pay that lookup's
   * read of the file's version. Token validity is not cached: an opaque token
   * is still looked up on every request, so revocation stays immediate; a
   * destroyed client's tokens are revoked with it.
   */
  async findParties(ids: PartyIds): Promise<Parties> {
    const cached = this.cachedParties(ids);
    if (cached !== undefined) return cached;
    const { parties } = this.store.caches;
    // Inside a transaction, reads see the transaction's own writes: no cache.
    if (this.db.isTransaction || !parties.enabled) return this.loadParties(ids);
    const generation = parties.generation;
    const found = await this.loadParties(ids);
    // Only a complete answer is kept; shared by requests, so frozen against a handler's edits.
    if (found.client && found.user !== undefined && found.account !== undefined) parties.set(partiesKey(ids), deepFreeze(found), generation);
    return found;
  }

  /** findParties' answer when its cache holds it, at once; undefined when it does not (findParties then reads it). */
  cachedParties(ids: PartyIds): Parties | undefined {
    const { parties, changes } = this.store.caches;
    if (this.db.isTransaction || !parties.enabled) return undefined;
    changes?.start();
    return parties.get(partiesKey(ids));
  }

  private async loadParties(ids: PartyIds): Promise<Parties> {
    const row = (await HOT.findParties.execute(this.store, ids.clientId, ids.userId, ids.accountId)).rows[0];
    if (!row) {
      return { client: undefined, user: ids.userId === null ? null : undefined, account: ids.accountId === null ? null : undefined };
    }
    const user =
      row.u_id === null
        ? undefined
        : toUser({
            id: row.u_id,
            email: row.u_email as string,
            password_hash: row.u_password_hash as string,
            first_name: row.u_first_name as string,
            last_name: row.u_last_name as string,
            is_admin: row.u_is_admin as number,
            locked_at: row.u_locked_at,
            created_at: row.u_created_at as number,
            updated_at: row.u_updated_at as number,
          });
    const account =
      row.a_id === null
        ? undefined
        : toAccount({ id: row.a_id, name: row.a_name as string, kind: row.a_kind as string, partner_id: row.a_partner_id, created_at: row.a_created_at as number });
    return {
      client: toClient(row),
      user: ids.userId === null ? null : user,
      account: ids.accountId === null ? null : account,
    };
  }
}

/** Keys made before, by account (the client, for a client's own token); emptied when full. */
const keptKeys = new Map<string, PartyIds & { key: string }>();
const KEPT_KEYS = 10_000;

/**
 * The parties cache's key of `ids`: the same string for the same ids while it
 * is kept. V8 keeps a string's hash once it has computed it; a key made afresh
 * was a new string of some 90 characters for the cache's map to hash on every
 * lookup (about 2,400 instructions of a bearer check under callgrind). A
 * token's ids are hashed here by its account alone, and for a JWT verified
 * before they are the very strings of its last check, hashed already
 * (ANALYSIS.md, twenty-sixth pass).
 */
function partiesKey(ids: PartyIds): string {
  const anchor = ids.accountId ?? ids.clientId;
  const kept = keptKeys.get(anchor);
  if (kept !== undefined && kept.clientId === ids.clientId && kept.userId === ids.userId && kept.accountId === ids.accountId) return kept.key;
  const key = `${ids.clientId}\u0000${ids.userId ?? ''}\u0000${ids.accountId ?? ''}`;
  if (keptKeys.size >= KEPT_KEYS) keptKeys.clear();
  keptKeys.set(anchor, { clientId: ids.clientId, userId: ids.userId, accountId: ids.accountId, key });
  return key;
}
