/**
 * The client credentials grant (RFC 6749 §4.4): a machine client acting on its
 * own behalf. No user, no account, no refresh token. The tokens hang off the
 * client's one machine connection, so revoking it revokes them all.
 */
import { InvalidScope, UnauthorizedClient } from '../errors.js';
import { defaultScopes, isSubset, parseScope } from '../scope.js';
import { type IssuedTokens, issueOnSavedGrant, type MintedAccessToken, mintAccessToken } from '../tokens.js';
import type { GrantHandler, TokenRequestContext } from './types.js';

/**
 * The usual request, a client's live machine grant already holding the scope,
 * in one step of the store (TokenRepository.issueOnMachineGrant: one round
 * trip on PostgreSQL where the grant's lookup and the token's write are two).
 * When the store has no such step, or it saved nothing, the token it minted (if
 * any) is left for the two steps to save.
 */
async function issueInOneStep(context: TokenRequestContext, scopes: string[]): Promise<{ issued: IssuedTokens } | { minted?: MintedAccessToken }> {
  const { client, store, now } = context;
  if (!store.issueOnMachineGrant) return {};
  // A client's own token: no user or account (RFC 9068 §2.2: "sub" names the client).
  const minted = await mintAccessToken(store, { userId: null, accountId: null }, { client, scopes, settings: context.settings, endpoint: context.endpoint, now });
  const { accessToken, expiresIn, tokenHash, expiresAt, signingKeyId } = minted;
  const grant = await store.issueOnMachineGrant({ clientId: client.id, scopes, now, accessToken: { tokenHash, expiresAt, signingKeyId } });
  return grant ? { issued: { accessToken, refreshToken: undefined, expiresIn, scopes, grant, client } } : { minted };
}

export const clientCredentialsGrant: GrantHandler = {
  type: 'client_credentials',
  async handle(context) {
    const { params, client, store, settings, endpoint, now } = context;
    // §4.4: "The client credentials grant type MUST only be used by confidential clients."
    if (client.isPublic) {
      throw new UnauthorizedClient('A public client cannot use the client_credentials grant.', 'public client');
    }
    // §4.4.2 scope OPTIONAL; §3.3: the server "MUST either process the request
    // using a pre-defined default value or fail the request indicating an invalid scope".
    const requested = parseScope(params.scope);
    if (requested === undefined) throw new InvalidScope('The scope parameter is malformed.');
    if (!isSubset(requested, client.scopes)) throw new InvalidScope('The request asks for a scope this client may not use.');
    const scopes = requested.length > 0 ? requested : defaultScopes(client, await store.listScopes());
    const stepped = await issueInOneStep(context, scopes);
    if ('issued' in stepped) return stepped.issued;

    // The grant is saved on its own (its creation is atomic, and one left without
    // tokens is the one the next request uses); the token is then one write.
    const saveGrant = () => store.saveMachineGrant({ clientId: client.id, scopes, partnerId: client.partnerId }, now);
    // §4.4.3: "A refresh token SHOULD NOT be included."
    return issueOnSavedGrant(store, saveGrant, { client, scopes, settings, endpoint, now, refreshToken: false, minted: stepped.minted });
  },
};
