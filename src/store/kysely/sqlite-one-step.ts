/**
 * A code exchange's or a refresh's lookup, the token endpoint's checks and its
 * writes in one transaction (CodeRepository.exchangeCode,
 * TokenRepository.rotateRefreshToken), on SQLite; PostgreSQL's are one
 * statement (one-step.ts), and answer the same.
 *
 * As two steps, the lookup ran in one turn of the event loop (a read
 * transaction of its own, shared by the turn's lookups: turn-batch.ts) and the
 * writes in a later one (group commit). Here both run in the group commit's
 * transaction: one turn instead of two, and no read transaction of the
 * lookup's own (each costs its locks' system calls). It saves no instructions
 * (one lookup statement per request, where the turn's batch shared one), but
 * system calls and turns: in alternated runs a refresh took 133, 132 and 150
 * µs of CPU against 154, 155 and 179 before, a code exchange 154, 149 and 172
 * against 158, 161 and 163 (bench/ANALYSIS.md, twenty-third pass).
 *
 * The checks are PostgreSQL's conditions of the spend, and so the token
 * endpoint's: where one fails, nothing is written, and the row as read is
 * answered with `saved` false for the endpoint to say what is wrong (or, in the
 * reuse grace period, to issue on the retired token). The transaction holds
 * SQLite's write lock from its start (BEGIN IMMEDIATE), so what the lookup read
 * is still true when the writes are made: two requests spending one value in
 * one batch run one after the other, and the second reads the first's spend.
 */
import type { AccessToken, AuthorizationCode, RefreshToken } from '../../core/model.js';
import type { CodeExchange, NewTokenHashes, OneStepResult, RefreshRotation, TokenIssue, WithGrant } from '../../core/ports.js';
import { isSubset } from '../../core/scope.js';
import type { KyselyStore } from './store.js';

/** A transaction's unit: it only reads and writes through its transaction, so it may run again (group-commit.ts). */
const REPLAYABLE = { replayable: true } as const;

/** What the issue writes: the new tokens on the found grant, with their scopes. */
function issueOf(
  found: WithGrant<{ grantId: string; clientId: string }>,
  minted: NewTokenHashes,
  spends: TokenIssue['spends'],
  scopes: { access: string[]; refresh: string[] },
  now: number,
): TokenIssue {
  const { record, grant } = found;
  const accessToken: AccessToken = {
    tokenHash: minted.accessToken.tokenHash,
    grantId: record.grantId,
    clientId: record.clientId,
    userId: grant.userId,
    accountId: grant.accountId,
    scopes: scopes.access,
    createdAt: now,
    expiresAt: minted.accessToken.expiresAt,
    revokedAt: null,
    signingKeyId: null,
  };
  const refreshToken: RefreshToken | undefined = minted.refreshToken && {
    tokenHash: minted.refreshToken.tokenHash,
    grantId: record.grantId,
    clientId: record.clientId,
    scopes: scopes.refresh,
    createdAt: now,
    expiresAt: minted.refreshToken.expiresAt,
    rotatedAt: null,
    revokedAt: null,
  };
  return { spends, grant, accessToken, refreshToken, now };
}

/** Writes the issue if the checks held; answers the row as read, and whether it was saved. */
async function saveIf<T>(tx: KyselyStore, found: WithGrant<T>, usable: boolean, issue: () => TokenIssue): Promise<OneStepResult<T>> {
  // In this transaction, after these checks, the spend's own conditions hold: it answers 'saved'.
  const saved = usable && (await tx.saveIssue(issue())) === 'saved';
  return { saved, ...found };
}

/** TokenRepository.rotateRefreshToken (SQLite). */
export function rotateRefreshTokenInTransaction(store: KyselyStore, rotation: RefreshRotation): Promise<OneStepResult<RefreshToken> | undefined> {
  return store.transaction(async (tx) => {
    const found = await tx.findRefreshToken(rotation.presentedHash);
    if (found === undefined) return undefined;
    const { record, grant } = found;
    const { now, requested } = rotation;
    // RFC 6749 §6 and RFC 9700 §4.14.2: issued to this client, current (neither rotated nor revoked),
    // unexpired, on a live grant, and asked for no scope it does not cover.
    const usable =
      record.clientId === rotation.clientId &&
      record.rotatedAt === null &&
      record.revokedAt === null &&
      record.expiresAt > now &&
      grant.revokedAt === null &&
      isSubset(requested, record.scopes);
    return saveIf(tx, found, usable, () =>
      issueOf(found, rotation, { refreshTokenHash: record.tokenHash }, { access: requested.length > 0 ? requested : record.scopes, refresh: record.scopes }, now),
    );
  }, REPLAYABLE);
}

/** CodeRepository.exchangeCode (SQLite). */
export function exchangeCodeInTransaction(store: KyselyStore, exchange: CodeExchange): Promise<OneStepResult<AuthorizationCode> | undefined> {
  return store.transaction(async (tx) => {
    const found = await tx.findCode(exchange.presentedHash);
    if (found === undefined) return undefined;
    const { record, grant } = found;
    const { now } = exchange;
    // RFC 6749 §4.1.3 and RFC 7636 §4.6: issued to this client on this channel, unused and unexpired, the
    // same redirect URI if it had one, and no challenge with no verifier or an S256 challenge the
    // verifier's hash equals. A plain challenge is left to the endpoint's own comparison, in constant time.
    const challenged =
      record.codeChallengeMethod === 'S256'
        ? record.codeChallenge === exchange.s256Challenge
        : record.codeChallenge === null && record.codeChallengeMethod === null && exchange.s256Challenge === null;
    const usable =
      record.clientId === exchange.clientId &&
      record.consumedAt === null &&
      record.expiresAt > now &&
      record.channel === exchange.channel &&
      (record.redirectUri === null || record.redirectUri === exchange.redirectUri) &&
      challenged &&
      grant.revokedAt === null;
    return saveIf(tx, found, usable, () => issueOf(found, exchange, { codeHash: record.codeHash }, { access: record.scopes, refresh: record.scopes }, now));
  }, REPLAYABLE);
}
