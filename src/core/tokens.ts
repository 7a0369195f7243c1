/** Minting access and refresh tokens for a grant. */
import type { Client, Grant } from './model.js';
import type { TokenRepository } from './ports.js';
import { hashCredential, newCredential } from './secrets.js';
import type { ProtocolSettings, TokenEndpointSettings } from './settings.js';

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string | undefined;
  expiresIn: number;
  scopes: string[];
  grant: Grant;
  client: Client;
}

export function accessTokenTtl(client: Client, settings: ProtocolSettings, endpoint?: TokenEndpointSettings): number {
  return client.accessTokenTtlSeconds ?? endpoint?.accessTokenTtlSeconds ?? settings.accessTokenTtlSeconds;
}

/** Inserts a new access token, and a refresh token if the client may refresh. */
export async function issueTokens(
  tx: TokenRepository,
  input: {
    grant: Grant;
    client: Client;
    scopes: string[];
    settings: ProtocolSettings;
    endpoint?: TokenEndpointSettings;
    now: number;
  },
): Promise<IssuedTokens> {
  const { grant, client, scopes, settings, endpoint, now } = input;
  const expiresIn = accessTokenTtl(client, settings, endpoint);
  const accessToken = newCredential('accessToken');
  await tx.insertAccessToken({
    tokenHash: hashCredential(accessToken),
    grantId: grant.id,
    clientId: client.id,
    userId: grant.userId,
    accountId: grant.accountId,
    scopes,
    createdAt: now,
    expiresAt: now + expiresIn * 1000,
    revokedAt: null,
  });
  let refreshToken: string | undefined;
  if (client.grantTypes.includes('refresh_token')) {
    refreshToken = newCredential('refreshToken');
    const ttl = client.refreshTokenTtlSeconds ?? settings.refreshTokenTtlSeconds;
    await tx.insertRefreshToken({
      tokenHash: hashCredential(refreshToken),
      grantId: grant.id,
      clientId: client.id,
      scopes,
      createdAt: now,
      expiresAt: now + ttl * 1000,
      rotatedAt: null,
      revokedAt: null,
    });
  }
  return { accessToken, refreshToken, expiresIn, scopes, grant, client };
}
