/**
 * The resource owner password credentials grant (RFC 6749 §4.3), "direct
 * login" in the GoTo guide. Deprecated (RFC 9700 §2.4: "MUST NOT be used"),
 * so it is offered only where a preset documents it, and only to clients
 * flagged legacy: "This action is only available for legacy clients."
 */
import { InvalidGrant, InvalidRequest, InvalidScope, OAuthError, TemporarilyUnavailable } from '../errors.js';
import { verifyPassword } from '../passwords.js';
import { defaultScopes, isSubset, parseScope } from '../scope.js';
import { issueOnSavedGrant } from '../tokens.js';
import type { GrantHandler } from './types.js';

const WRONG_CREDENTIALS = 'The user name or password is incorrect.';

export const passwordGrant: GrantHandler = {
  type: 'password',
  allows: (client) => client.isLegacy,
  async handle({ params, client, store, settings, endpoint, now, throttle, ip, whenThrottleDown }) {
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

    const verify = async () => {
      const candidate = await store.findUserByEmail(username);
      const valid = await verifyPassword(candidate?.passwordHash, password);
      return candidate && valid && candidate.lockedAt === null ? candidate : undefined;
    };
    // The same per-account and per-IP lockout as the sign-in page, so guessing
    // through this grant is no cheaper than guessing there.
    // When the shared counters (Redis or the database) cannot be reached the
    // grant fails closed by default, like the sign-in page: 503
    // temporarily_unavailable and no password check (never a 500). An operator
    // may choose to fail open: the password is then checked without the limit.
    const unthrottled = () => verify().then((value) => (value ? { status: 'ok' as const, value } : { status: 'failed' as const }));
    const outcome = throttle
      ? await throttle.attempt({ login: username, ip: ip ?? null, userId: null, channel: 'password_grant' }, verify).catch((error: unknown) => {
          if (error instanceof OAuthError) throw error;
          if (whenThrottleDown === 'open') return unthrottled();
          throw new TemporarilyUnavailable('Sign-in is unavailable right now; try again in a minute.', 'password grant: counters unavailable');
        })
      : await unthrottled();
    if (outcome.status === 'locked') {
      throw new InvalidGrant('Too many failed attempts. Try again later.', `password grant: ${outcome.scope} locked`);
    }
    if (outcome.status !== 'ok') throw new InvalidGrant(WRONG_CREDENTIALS, 'password grant: bad credentials');
    const user = outcome.value;
    const [account] = await store.listAccountsOfUser(user.id);
    if (!account) throw new InvalidGrant('The user has no account to connect.');

    // Consent is saved on its own, as the consent page saves it; the tokens are then one write.
    const saveGrant = () =>
      store.saveGrant({ clientId: client.id, userId: user.id, accountId: account.id, scopes, partnerId: client.partnerId }, now);
    return issueOnSavedGrant(store, saveGrant, { client, scopes, settings, endpoint, now });
  },
};
