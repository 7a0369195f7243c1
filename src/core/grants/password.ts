/**
 * The resource owner password credentials grant (RFC 6749 §4.3), "direct
 * login" in the GoTo guide. Deprecated (RFC 9700 §2.4: "MUST NOT be used"),
 * so it is offered only where a preset documents it, and only to clients
 * flagged legacy: "This action is only available for legacy clients."
 */
import { InvalidGrant, InvalidRequest, InvalidScope } from '../errors.js';
import { verifyPassword } from '../passwords.js';
import { defaultScopes, isSubset, parseScope } from '../scope.js';
import { issueTokens } from '../tokens.js';
import type { GrantHandler } from './types.js';

const WRONG_CREDENTIALS = 'The user name or password is incorrect.';

export const passwordGrant: GrantHandler = {
  type: 'password',
  allows: (client) => client.isLegacy,
  async handle({ params, client, store, settings, endpoint, now }) {
    // RFC 6749 §4.3.2: "username REQUIRED", "password REQUIRED" (the GoTo legacy proxy calls it user_id).
    const usernameParam = endpoint.passwordUsernameParam ?? 'username';
    const username = params[usernameParam];
    const password = params.password;
    if (!username || password === undefined) {
      throw new InvalidRequest(`The ${usernameParam} and password parameters are required.`);
    }
    const requested = parseScope(params.scope);
    if (requested === undefined) throw new InvalidScope('The scope parameter is malformed.');
    if (!isSubset(requested, client.scopes)) throw new InvalidScope('The request asks for a scope this client may not use.');
    const scopes = requested.length > 0 ? requested : defaultScopes(client, await store.listScopes());

    const user = await store.findUserByEmail(username);
    const valid = await verifyPassword(user?.passwordHash, password);
    if (!user || !valid || user.lockedAt !== null) throw new InvalidGrant(WRONG_CREDENTIALS, 'password grant: bad credentials');
    const [account] = await store.listAccountsOfUser(user.id);
    if (!account) throw new InvalidGrant('The user has no account to connect.');

    return store.transaction(async (tx) => {
      const grant = await tx.saveGrant(
        { clientId: client.id, userId: user.id, accountId: account.id, scopes, partnerId: client.partnerId },
        now,
      );
      await tx.touchGrant(grant.id, now);
      return issueTokens(tx, { grant, client, scopes, settings, endpoint, now });
    });
  },
};
