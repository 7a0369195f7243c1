/**
 * The narrow interfaces the protocol core needs from storage. The store
 * implements them; the core never sees SQL. Every single-use rule is enforced
 * by the implementation with a conditional write, so it holds across processes.
 */
import type { AccessToken, AuthorizationCode, Client, Grant, RefreshToken, Scope } from './model.js';

export interface ClientLookup {
  findClient(clientId: string): Promise<Client | undefined>;
  /** Hashes of the client's secrets that are valid at `now` (more than one during a rotation overlap). */
  activeSecretHashes(clientId: string, now: number): Promise<string[]>;
}

export interface ScopeLookup {
  listScopes(): Promise<Scope[]>;
}

export interface NewGrant {
  clientId: string;
  userId: string;
  accountId: string;
  scopes: string[];
  partnerId: string | null;
}

export interface GrantRepository {
  findGrant(grantId: string): Promise<Grant | undefined>;
  /** The live (unrevoked) grant of this client on this user's account, if any. */
  findActiveGrant(clientId: string, userId: string, accountId: string): Promise<Grant | undefined>;
  /** Creates the grant, or adds the scopes to the live one (consent is cumulative). */
  saveGrant(grant: NewGrant, now: number): Promise<Grant>;
  /** Revokes the grant and, with it, every code and token issued from it. */
  revokeGrant(grantId: string, now: number, reason: string): Promise<void>;
  touchGrant(grantId: string, now: number): Promise<void>;
}

export interface CodeRepository {
  insertCode(code: AuthorizationCode): Promise<void>;
  findCode(codeHash: string): Promise<AuthorizationCode | undefined>;
  /** Marks the code used if it was unused; false if another request used it first. */
  consumeCode(codeHash: string, now: number): Promise<boolean>;
}

export interface TokenRepository {
  insertAccessToken(token: AccessToken): Promise<void>;
  insertRefreshToken(token: RefreshToken): Promise<void>;
  findAccessToken(tokenHash: string): Promise<AccessToken | undefined>;
  findRefreshToken(tokenHash: string): Promise<RefreshToken | undefined>;
  /** Retires the refresh token if it is still current; false if it was already rotated or revoked. */
  retireRefreshToken(tokenHash: string, now: number): Promise<boolean>;
}

export interface ProtocolStore extends ClientLookup, ScopeLookup, GrantRepository, CodeRepository, TokenRepository {
  /** Runs `work` atomically; everything it wrote is rolled back if it throws. */
  transaction<T>(work: (tx: ProtocolStore) => Promise<T>): Promise<T>;
}
