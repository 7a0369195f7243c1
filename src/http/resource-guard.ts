/**
 * The resource guard: protects the platform's own Fastify routes with the
 * access tokens Latchkey issues (RFC 6750; RFC 9068 for JWT access tokens).
 *
 *   app.get('/api/invoices', { preHandler: ctx.guard({ scopes: ['read'] }) }, async (request) => {
 *     const { userId, accountId, clientId, scopes } = principalOf(request);
 *   });
 *
 * An opaque token costs one indexed lookup; a JWT none (unless `online`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, preHandlerHookHandler } from 'fastify';
import {
  type AccessTokenValidation,
  authenticateAccessToken,
  findAccessToken,
  knownJwtPrincipal,
  type ResourcePolicy,
  type ResourcePrincipal,
  requireScopes,
  type TokenLocation,
} from '../core/bearer.js';
import type { Clock } from '../core/clock.js';
import { AccessTokenRequired, InsufficientScope, InvalidToken, OAuthError } from '../core/errors.js';
import type { Account, Client, User } from '../core/model.js';
import type { Parties } from '../core/ports.js';
import { VerifiedTokenCache } from '../core/jwt.js';
import type { VerificationKeys } from '../core/signing-keys.js';
import type { Store } from '../store/types.js';
import { isFormParams, queryOf } from './form.js';

/** What a guarded request knows about its access token. */
export interface Principal extends ResourcePrincipal {
  /** Loaded only for routes that ask for it (`load: true`); null for a client's own token. */
  user?: User | null;
  account?: Account | null;
  client?: Client;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the resource guard; null on routes it does not protect. */
    principal: Principal | null;
  }
}

export interface ResourceGuardOptions {
  store: Store;
  /** The published keys' public halves, in memory. */
  keys: VerificationKeys;
  /** Where tokens may be presented (the preset's `resource` settings). */
  policy: ResourcePolicy;
  issuer: string;
  /** The "aud" expected in JWT access tokens. */
  audience: string;
  clock: Clock;
  realm?: string;
  /** Check JWTs against the database too, so revocation takes effect at once (default false). */
  online?: boolean;
}

export interface RouteRequirement {
  /** Every one of these scopes is needed (RFC 6750 §3.1 insufficient_scope otherwise). */
  scopes?: string[];
  /** Overrides the guard's `online` for this route. */
  online?: boolean;
  /** Also load the user, account and client onto the principal (one more lookup). */
  load?: boolean;
}

export type ResourceGuard = (requirement?: RouteRequirement) => preHandlerHookHandler;

const SCHEME_NAMES = { bearer: 'Bearer', token: 'Token' } as const;

/** RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E. */
function quoted(value: string): string {
  return value.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '');
}

/** The WWW-Authenticate challenges for a refusal (RFC 6750 §3). */
export function resourceChallenges(error: OAuthError, policy: ResourcePolicy, location: TokenLocation | undefined, realm: string): string[] {
  // §3: a request without any token gets the bare challenge of every accepted scheme.
  if (error instanceof AccessTokenRequired) return policy.schemes.map((scheme) => `${SCHEME_NAMES[scheme]} realm="${realm}"`);
  const scheme = location === 'token' ? 'Token' : 'Bearer';
  const parts = [`realm="${realm}"`, `error="${error.error}"`, `error_description="${quoted(error.description)}"`];
  if (error instanceof InsufficientScope) parts.push(`scope="${quoted(error.scope)}"`);
  return [`${scheme} ${parts.join(', ')}`];
}

/** The principal of a request the guard let through. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new TypeError(`${request.routeOptions.url ?? request.url} is not behind the resource guard`);
  return request.principal;
}

/** Creates the guard; call the result once per route with the route's requirement. */
export function createResourceGuard(app: FastifyInstance, options: ResourceGuardOptions): ResourceGuard {
  if (!app.hasRequestDecorator('principal')) app.decorateRequest('principal', null);
  const realm = options.realm ?? 'latchkey';
  const jwtCache = new VerifiedTokenCache();
  const keys = (kid: string) => options.keys.get(kid);
  const holdsKey = (kid: string) => options.keys.holds(kid);

  const refuse = (request: FastifyRequest, reply: FastifyReply, error: OAuthError, location: TokenLocation | undefined) => {
    request.log.info({ err: { type: error.error, detail: error.detail ?? error.description } }, 'access token refused');
    const challenges = resourceChallenges(error, options.policy, location, realm);
    // One header line per challenge (RFC 9110 §11.6.1 allows either form; separate lines parse unambiguously).
    reply.header('www-authenticate', challenges.length === 1 ? challenges[0] : challenges);
    return reply
      .code(error.status)
      .header('cache-control', 'no-store')
      .type('application/json; charset=utf-8')
      .send(error.toJSON());
  };

  const admit = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, principal: Principal, location: TokenLocation) => {
    request.principal = principal;
    // §2.3: "Server success (2XX status) responses to these requests SHOULD
    // contain a Cache-Control header with the "private" option."
    if (location === 'query') reply.header('cache-control', 'private');
    done();
  };

  // A refusal is the answer: the route goes no further (done is not called).
  const fail = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, error: unknown, location: TokenLocation | undefined) => {
    if (error instanceof OAuthError) refuse(request, reply, error, location);
    else done(error as Error);
  };

  return (requirement = {}) => {
    const scopes = requirement.scopes ?? [];
    const online = requirement.online ?? options.online ?? false;

    const withParties = (principal: Principal, { client, user, account }: Parties): Principal => {
      if (!client || user === undefined || account === undefined) throw new InvalidToken(undefined, 'client, user or account no longer exists');
      principal.client = client;
      principal.user = user;
      principal.account = account;
      return principal;
    };

    /** The principal with its parties when the route loads them: from the cache at once, or a promise of them. */
    const loaded = (principal: Principal): Principal | Promise<Principal> => {
      if (!requirement.load) return principal;
      const parties = options.store.cachedParties(principal);
      return parties !== undefined ? withParties(principal, parties) : options.store.findParties(principal).then((found) => withParties(principal, found));
    };

    /** The check of what knownJwtPrincipal does not answer at once, as a chain of promises (see authenticateAccessToken). */
    const authenticate = (token: string, validation: AccessTokenValidation): Promise<Principal> =>
      authenticateAccessToken(token, validation).then((principal: Principal) => {
        requireScopes(principal, scopes);
        return loaded(principal);
      });

    // A callback hook, not an async one: the usual check (a JWT verified before,
    // its parties cached) is answered without a promise. Measured under
    // callgrind, with describePrincipal no longer async either: a JWT check on
    // /api/me went from 127,400 instructions to 119,900 (ANALYSIS.md,
    // twenty-fifth pass). Every other check is a promise: `authenticate`, or the parties looked up.
    return function resourceGuard(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
      let location: TokenLocation | undefined;
      let principal: Principal;
      try {
        const found = findAccessToken(
          {
            authorization: request.headers.authorization,
            method: request.method,
            mediaType: request.headers['content-type']?.split(';')[0]?.trim().toLowerCase(),
            query: queryOf(request.url),
            form: isFormParams(request.body) ? request.body : undefined,
          },
          options.policy,
          jwtCache,
        );
        location = found.location;
        const validation: AccessTokenValidation = {
          store: options.store,
          keys,
          holdsKey,
          issuer: options.issuer,
          audience: options.audience,
          now: options.clock.now(),
          online,
          jwtCache,
        };
        const known: Principal | undefined = knownJwtPrincipal(found.token, validation);
        if (known !== undefined) requireScopes(known, scopes);
        const checked = known !== undefined ? loaded(known) : authenticate(found.token, validation);
        if (checked instanceof Promise) {
          const at = location;
          checked.then(
            (principal) => admit(request, reply, done, principal, at),
            (error) => fail(request, reply, done, error, at),
          );
          return;
        }
        principal = checked;
      } catch (error) {
        fail(request, reply, done, error, location);
        return;
      }
      admit(request, reply, done, principal, location);
    };
  };
}
