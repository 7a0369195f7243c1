/**
 * The narrow interfaces the protocol core needs from storage. The store
 * implements them; the core never sees SQL. Every single-use rule is enforced
 * by the implementation with a conditional write, so it holds across processes.
 */
import type { AuditSink } from './lockout.js';
import type {
  AccessToken,
  Account,
  AnyGrant,
  AuthorizationCode,
  Client,
  Grant,
  MachineGrant,
  Partner,
  RefreshToken,
  Scope,
  SigningKey,
  User,
} from './model.js';

export interface ClientLookup {
  findClient(clientId: string): Promise<Client | undefined>;
  /**
   * The client with the hashes of its secrets valid at `now` (more than one
   * during a rotation overlap), in one lookup (client authentication).
   */
  findClientWithSecrets(clientId: string, now: number): Promise<{ client: Client; secretHashes: string[] } | undefined>;
}

export interface ScopeLookup {
  listScopes(): Promise<readonly Scope[]>;
}

export interface NewGrant {
  clientId: string;
  userId: string;
  accountId: string;
  scopes: string[];
  partnerId: string | null;
}

export interface GrantRepository {
  /** A user's connection or (client credentials) a client's own. */
  findGrant(grantId: string): Promise<AnyGrant | undefined>;
  /** The live (unrevoked) grant of this client on this user's account, if any. */
  findActiveGrant(clientId: string, userId: string, accountId: string): Promise<Grant | undefined>;
  /** Creates the grant, or adds the scopes to the live one (consent is cumulative). */
  saveGrant(grant: NewGrant, now: number): Promise<Grant>;
  /** The client's live machine connection (no user, no account), created if needed; scopes accumulate. */
  saveMachineGrant(grant: { clientId: string; scopes: string[]; partnerId: string | null }, now: number): Promise<MachineGrant>;
  /** Revokes the grant and, with it, every code and token issued from it. */
  revokeGrant(grantId: string, now: number, reason: string): Promise<void>;
}

/**
 * A code or refresh token with the grant it was issued from, loaded together:
 * the token endpoint needs both, and one lookup is one round trip on PostgreSQL.
 * A grant outlives its codes and tokens (deleting it deletes them), so it is always there.
 */
export interface WithGrant<T> {
  record: T;
  grant: AnyGrant;
}

export interface CodeRepository {
  insertCode(code: AuthorizationCode): Promise<void>;
  findCode(codeHash: string): Promise<WithGrant<AuthorizationCode> | undefined>;
  /**
   * findCode and saveIssue in one step, for a store where each is a round
   * trip (PostgreSQL); a store without it is used through those two. Finds
   * the presented code with its grant and, only when the code is unused,
   * issued to `clientId` on `channel`, unexpired at `now`, its redirect URI
   * (if it has one) equal to `redirectUri`, its challenge either absent with
   * no verifier sent or an S256 challenge equal to `s256Challenge`, and its
   * grant live, writes what saveIssue would: spends it, records the grant's
   * use, and saves the new tokens with the code's scope. Undefined for an
   * unknown code.
   */
  exchangeCode?(exchange: CodeExchange): Promise<OneStepResult<AuthorizationCode> | undefined>;
}

/**
 * What one token response writes. `spends` is what the tokens are exchanged
 * for: an unused code, or a current refresh token (rotation).
 */
export interface TokenIssue {
  spends?: { codeHash: string } | { refreshTokenHash: string } | undefined;
  /** The grant the tokens are issued from: its use is recorded, to the minute. */
  grant: { id: string; lastUsedAt: number | null };
  accessToken: AccessToken;
  refreshToken: RefreshToken | undefined;
  now: number;
}

/**
 * What saveIssue did: saved it all; or nothing, because what it spends was
 * already used, rotated or revoked, or because the grant is revoked.
 */
export type IssueOutcome = 'saved' | 'spent' | 'grant_revoked';

/**
 * The new credentials of a token response asked of the store in one step, by
 * their hashes: minted before the code or token is read, which an opaque
 * access token allows (a JWT needs the grant).
 */
export interface NewTokenHashes {
  accessToken: { tokenHash: string; expiresAt: number };
  refreshToken: { tokenHash: string; expiresAt: number } | undefined;
}

/** A refresh with rotation asked of the store in one step (TokenRepository.rotateRefreshToken). */
export interface RefreshRotation extends NewTokenHashes {
  presentedHash: string;
  clientId: string;
  /** The scope requested, distinct scope tokens; empty asks for the token's own. */
  requested: string[];
  now: number;
}

/** A code exchange asked of the store in one step (CodeRepository.exchangeCode). */
export interface CodeExchange extends NewTokenHashes {
  presentedHash: string;
  clientId: string;
  /** The token endpoint's channel: a code is bound to its authorize endpoint's. */
  channel: string;
  /** The redirect_uri parameter, or null when the request has none. */
  redirectUri: string | null;
  /** BASE64URL(SHA256(code_verifier)) (RFC 7636 §4.6), or null when the request has no verifier. */
  s256Challenge: string | null;
  now: number;
}

/** A client-credentials access token asked of the store in one step (TokenRepository.issueOnMachineGrant). */
export interface MachineTokenIssue {
  clientId: string;
  /** The token's scope, distinct scope tokens. */
  scopes: string[];
  accessToken: { tokenHash: string; expiresAt: number; signingKeyId: string | null };
  now: number;
}

/**
 * The code or token presented, as found, and whether the step saved the
 * response. When it did not, nothing was written, and `record` and `grant`
 * are what findCode or findRefreshToken would have answered, for the
 * caller's own checks to say why (or to go on in the two steps).
 */
export interface OneStepResult<T> extends WithGrant<T> {
  saved: boolean;
}

export interface TokenRepository {
  insertAccessToken(token: AccessToken): Promise<void>;
  insertRefreshToken(token: RefreshToken): Promise<void>;
  findAccessToken(tokenHash: string): Promise<AccessToken | undefined>;
  findRefreshToken(tokenHash: string): Promise<WithGrant<RefreshToken> | undefined>;
  /**
   * Writes a token response, all of it or nothing, and only while its grant is
   * live: a revocation that commits first refuses it, one that commits after it
   * revokes its tokens too. It spends what it spends with a conditional write
   * (the single-use guarantee, across instances), records the grant's use
   * (nothing is written for it when the grant as loaded was used within the
   * minute) and inserts the new tokens.
   */
  saveIssue(issue: TokenIssue): Promise<IssueOutcome>;
  /**
   * findRefreshToken and saveIssue in one step, for a store where each is a
   * round trip (PostgreSQL); a store without it is used through those two.
   * Finds the presented token with its grant and, only when the token is
   * current (issued to `clientId`, never rotated, unrevoked, unexpired at
   * `now`, its scope covering `requested`) and its grant live, writes what
   * saveIssue would: spends it, records the grant's use, and saves the new
   * access token (scope: `requested`, or else the token's) and refresh token
   * (the token's scope, RFC 6749 §6). Undefined for an unknown token.
   */
  rotateRefreshToken?(rotation: RefreshRotation): Promise<OneStepResult<RefreshToken> | undefined>;
  /**
   * saveMachineGrant and saveIssue in one step, for a store where each is a
   * round trip (PostgreSQL). Finds the client's live machine grant and, only
   * when it already holds each of `scopes` and its use was recorded within
   * the minute before `now` (so the response writes nothing to it), saves
   * the access token on it. Answers that grant, or undefined having written
   * nothing: no live machine grant, a scope it lacks, or its use due.
   */
  issueOnMachineGrant?(issue: MachineTokenIssue): Promise<MachineGrant | undefined>;
  /** Revokes one access token; false if it was unknown or already revoked. */
  revokeAccessToken(tokenHash: string, now: number): Promise<boolean>;
}

/** Keys that sign JWT access tokens (RFC 9068). */
export interface SigningKeyRepository {
  /** The key new tokens are signed with: the newest unretired one. */
  activeSigningKey(): Promise<SigningKey | undefined>;
  insertSigningKey(key: SigningKey): Promise<void>;
  /**
   * Retires every unretired key but `keepKid`. With `expectedActiveKid`, only
   * if that key is still unretired (so two instances rotating at once do not
   * both rotate); returns false, retiring nothing, when it is not.
   */
  retireSigningKeys(keepKid: string, now: number, expectedActiveKid?: string): Promise<boolean>;
  /** Every stored key: the active ones and the retired ones not yet pruned (they are the published set). */
  listSigningKeys(): Promise<SigningKey[]>;
  /** Deletes retired keys retired before `retiredBefore` that signed no access token still unexpired at `now`. */
  pruneSigningKeys(retiredBefore: number, now: number): Promise<string[]>;
}

/** The user and accounts a grant acts for (password grant, responses that describe the subject). */
export interface SubjectLookup {
  findUser(userId: string): Promise<User | undefined>;
  findUserByEmail(email: string): Promise<User | undefined>;
  findAccount(accountId: string): Promise<Account | undefined>;
  listAccountsOfUser(userId: string): Promise<Account[]>;
  /**
   * A token's client, user and account in one lookup (the resource guard's
   * `load`, introspection): undefined for one that does not exist (or a
   * destroyed client), null where the id is null (a client's own token has no
   * user or account). Outside a transaction the store may serve them from a
   * cache of a few seconds (LATCHKEY_RESOURCE_GUARD_CACHE_SECONDS); whether the
   * token itself is valid is never cached.
   */
  findParties(ids: { clientId: string; userId: string | null; accountId: string | null }): Promise<Parties>;
  /**
   * findParties' answer when the cache holds it, at once (no promise, for the
   * resource guard's usual case); undefined when it does not, and always
   * within a transaction or with the cache off.
   */
  cachedParties(ids: { clientId: string; userId: string | null; accountId: string | null }): Parties | undefined;
}

/** A token's client, user and account (SubjectLookup.findParties). */
export interface Parties {
  client: Client | undefined;
  user: User | null | undefined;
  account: Account | null | undefined;
}

export interface PartnerRepository {
  findPartnerByPortalId(partnerPortalId: string): Promise<Partner | undefined>;
  /** Links the account to the partner unless it already belongs to one. */
  linkAccountToPartner(accountId: string, partnerId: string): Promise<void>;
}

export interface ProtocolStore
  extends ClientLookup,
    ScopeLookup,
    GrantRepository,
    CodeRepository,
    TokenRepository,
    SubjectLookup,
    PartnerRepository,
    SigningKeyRepository,
    /** The audit trail, where the store keeps one: security events the core detects (token reuse). */
    Partial<AuditSink> {
  /** Runs `work` atomically; everything it wrote is rolled back if it throws. */
  transaction<T>(work: (tx: ProtocolStore) => Promise<T>): Promise<T>;
}
