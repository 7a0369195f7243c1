/** Minting access and refresh tokens for a grant. */
import { signAccessToken } from './jwt.js';
import type { AccessTokenFormat, AnyGrant, Client, RefreshToken } from './model.js';
import { TemporarilyUnavailable } from './errors.js';
import type { IssueOutcome, NewTokenHashes, SigningKeyRepository, TokenIssue, TokenRepository } from './ports.js';
import { hashCredential, newCredential } from './secrets.js';
import type { ProtocolSettings, TokenEndpointSettings } from './settings.js';
import { ensureSigningKey } from './signing-keys.js';

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string | undefined;
  expiresIn: number;
  scopes: string[];
  grant: AnyGrant;
  client: Client;
}

/** The client's own choice of access-token format, else the server's, else opaque. */
export function accessTokenFormat(client: Client, settings: ProtocolSettings): AccessTokenFormat {
  return client.accessTokenFormat ?? settings.accessTokenFormat ?? 'opaque';
}

/** RFC 9068 §2.2 "aud": the resource identifier of the platform's API (by default the issuer). */
export function accessTokenAudience(settings: ProtocolSettings): string {
  return settings.accessTokenAudience ?? settings.issuer;
}

export function accessTokenTtl(client: Client, settings: ProtocolSettings, endpoint?: TokenEndpointSettings): number {
  return client.accessTokenTtlSeconds ?? endpoint?.accessTokenTtlSeconds ?? settings.accessTokenTtlSeconds;
}

interface IssueInput {
  grant: AnyGrant;
  client: Client;
  scopes: string[];
  /**
   * The new refresh token's scope, when it differs from the access token's.
   * RFC 6749 §6: "If a new refresh token is issued, the refresh token scope
   * MUST be identical to that of the refresh token included by the client".
   */
  refreshScopes?: string[];
  settings: ProtocolSettings;
  endpoint?: TokenEndpointSettings;
  now: number;
  /** false: no refresh token whatever the client's grant types (RFC 6749 §4.4.3). */
  refreshToken?: boolean;
  /**
   * The access token, when the request minted it already for this subject and
   * scope (client credentials' one step, which saved nothing): a JWT's
   * signature is not made twice.
   */
  minted?: MintedAccessToken;
}

/** A new access token: the credential, its lifetime, and what the store saves of it (hash, expiry, signing key). */
export interface MintedAccessToken {
  accessToken: string;
  expiresIn: number;
  tokenHash: string;
  expiresAt: number;
  signingKeyId: string | null;
}

/**
 * Mints a new access token, and a refresh token if the client may refresh, and
 * saves them with what they spend (a code, or the refresh token they rotate),
 * in one atomic write. A JWT access token (RFC 9068) is stored by its hash like
 * an opaque one, so that revocation and introspection work the same for both.
 * When nothing could be saved, says why: what the tokens spend was spent
 * first, or the grant was revoked since it was loaded.
 */
export async function issueTokens(
  store: TokenRepository & SigningKeyRepository,
  input: IssueInput & { spends?: TokenIssue['spends'] },
): Promise<IssuedTokens | Exclude<IssueOutcome, 'saved'>> {
  const { grant, client, scopes, settings, endpoint, now } = input;
  const { accessToken, expiresIn, tokenHash, expiresAt, signingKeyId } = input.minted ?? (await mintAccessToken(store, grant, { client, scopes, settings, endpoint, now }));
  const refresh = input.refreshToken === false ? undefined : mintRefreshToken(client, settings, now);
  const refreshRow: RefreshToken | undefined = refresh && {
    tokenHash: refresh.tokenHash,
    grantId: grant.id,
    clientId: client.id,
    scopes: input.refreshScopes ?? scopes,
    createdAt: now,
    expiresAt: refresh.expiresAt,
    rotatedAt: null,
    revokedAt: null,
  };
  const outcome = await store.saveIssue({
    spends: input.spends,
    grant,
    accessToken: {
      tokenHash,
      grantId: grant.id,
      clientId: client.id,
      userId: grant.userId,
      accountId: grant.accountId,
      scopes,
      createdAt: now,
      expiresAt,
      revokedAt: null,
      signingKeyId,
    },
    refreshToken: refreshRow,
    now,
  });
  return outcome === 'saved' ? { accessToken, refreshToken: refresh?.token, expiresIn, scopes, grant, client } : outcome;
}

/**
 * A new access token for the grant's subject: opaque, or a JWT signed with the
 * active key (RFC 9068). What the store saves is its hash, expiry and key.
 */
export async function mintAccessToken(
  store: SigningKeyRepository,
  subject: Pick<AnyGrant, 'userId' | 'accountId'>,
  { client, scopes, settings, endpoint, now }: Omit<IssueInput, 'grant'>,
): Promise<MintedAccessToken> {
  if (accessTokenFormat(client, settings) === 'opaque') {
    const { accessToken, expiresIn, tokenHash, expiresAt } = mintOpaqueAccessToken(client, settings, endpoint, now);
    return { accessToken, expiresIn, tokenHash, expiresAt, signingKeyId: null };
  }
  const expiresIn = accessTokenTtl(client, settings, endpoint);
  const expiresAt = now + expiresIn * 1000;
  const key = await ensureSigningKey(store, now);
  const accessToken = await signAccessToken(
    {
      issuer: settings.issuer,
      audience: accessTokenAudience(settings),
      // RFC 9068 §2.2: with no resource owner (client credentials) "the value of
      // "sub" SHOULD correspond to an identifier the authorization server uses to
      // indicate the client application".
      subject: subject.userId ?? client.id,
      clientId: client.id,
      scopes,
      accountId: subject.accountId,
      issuedAt: now,
      expiresAt,
    },
    key,
  );
  return { accessToken, expiresIn, tokenHash: hashCredential(accessToken), expiresAt, signingKeyId: key.kid };
}

/**
 * The credentials of a response asked of the store in one step (exchangeCode,
 * rotateRefreshToken), minted before the code or token is read: so only where
 * the access token is opaque (a JWT's claims come from the grant). `hashes` is
 * what the store saves; `issued` is the response once it has.
 */
export function preMintTokens(
  client: Client,
  settings: ProtocolSettings,
  endpoint: TokenEndpointSettings,
  now: number,
): { hashes: NewTokenHashes; issued(scopes: string[], grant: AnyGrant): IssuedTokens } {
  const { accessToken, expiresIn, tokenHash, expiresAt } = mintOpaqueAccessToken(client, settings, endpoint, now);
  const refresh = mintRefreshToken(client, settings, now);
  return {
    hashes: {
      accessToken: { tokenHash, expiresAt },
      refreshToken: refresh && { tokenHash: refresh.tokenHash, expiresAt: refresh.expiresAt },
    },
    issued: (scopes, grant) => ({ accessToken, refreshToken: refresh?.token, expiresIn, scopes, grant, client }),
  };
}

/** A new opaque access token: the credential, its lifetime, its hash and its expiry. */
function mintOpaqueAccessToken(
  client: Client,
  settings: ProtocolSettings,
  endpoint: TokenEndpointSettings | undefined,
  now: number,
): { accessToken: string; expiresIn: number; tokenHash: string; expiresAt: number } {
  const expiresIn = accessTokenTtl(client, settings, endpoint);
  const accessToken = newCredential('accessToken');
  return { accessToken, expiresIn, tokenHash: hashCredential(accessToken), expiresAt: now + expiresIn * 1000 };
}

/** A new refresh token, when the client may refresh: the credential, its hash and its expiry. */
function mintRefreshToken(client: Client, settings: ProtocolSettings, now: number): { token: string; tokenHash: string; expiresAt: number } | undefined {
  if (!client.grantTypes.includes('refresh_token')) return undefined;
  const token = newCredential('refreshToken');
  const ttl = client.refreshTokenTtlSeconds ?? settings.refreshTokenTtlSeconds;
  return { token, tokenHash: hashCredential(token), expiresAt: now + ttl * 1000 };
}

/**
 * Issues tokens on a grant the request has just saved (client credentials, the
 * password grant). A revocation can land between the two: the request is then
 * served as if it had come a moment later, on the grant saving it again
 * creates. Refused twice in a row, the client is asked to try again.
 */
export async function issueOnSavedGrant(
  store: TokenRepository & SigningKeyRepository,
  saveGrant: () => Promise<AnyGrant>,
  input: Omit<IssueInput, 'grant'>,
): Promise<IssuedTokens> {
  for (let attempt = 1; ; attempt++) {
    // The key before the spread: a key added to a spread's copy misses V8's inline cache every time.
    const issued = await issueTokens(store, { grant: await saveGrant(), ...input });
    if (typeof issued !== 'string') return issued;
    if (attempt === 2) {
      throw new TemporarilyUnavailable('The connection changed while the token was issued; try again.', `tokens refused twice on a just-saved grant (${issued})`);
    }
  }
}
