/** Finding a presented token of either kind, as revocation and introspection do. */
import type { AccessToken, AnyGrant, RefreshToken } from './model.js';
import type { TokenRepository } from './ports.js';
import { hashCredential } from './secrets.js';

export type FoundToken = { type: 'access_token'; record: AccessToken } | { type: 'refresh_token'; record: RefreshToken; grant: AnyGrant };

/**
 * RFC 7009 §2.1 (and RFC 7662 §2.1, which defers to it): token_type_hint is "A
 * hint about the type of the token submitted", "If the server is unable to
 * locate the token using the given hint, it MUST extend its search across all
 * of its supported token types", and "An invalid token type hint value is
 * ignored by the authorization server". The hint only orders the lookups.
 */
export async function locateToken(
  token: string,
  hint: string | undefined,
  store: Pick<TokenRepository, 'findAccessToken' | 'findRefreshToken'>,
): Promise<FoundToken | undefined> {
  const hash = hashCredential(token);
  const findAccess = async (): Promise<FoundToken | undefined> => {
    const record = await store.findAccessToken(hash);
    return record && { type: 'access_token', record };
  };
  const findRefresh = async (): Promise<FoundToken | undefined> => {
    const found = await store.findRefreshToken(hash);
    return found && { type: 'refresh_token', ...found };
  };
  const [first, second] = hint === 'refresh_token' ? [findRefresh, findAccess] : [findAccess, findRefresh];
  return (await first()) ?? (await second());
}
