/**
 * Browser sessions: a random cookie whose SHA-256 names a row in the store.
 * Every page that has a form has a session (anonymous until sign-in) so its
 * CSRF token is bound to the browser. The id is replaced at sign-in.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { hashCredential, hashesEqual, newCredential } from '../core/secrets.js';
import type { Session, Store } from '../store/types.js';

export interface SessionOptions {
  store: Store;
  ttlSeconds: number;
  secureCookies: boolean;
  now: () => number;
}

const loaded = new WeakMap<FastifyRequest, Session | null>();

export class Sessions {
  readonly cookieName: string;

  constructor(private readonly options: SessionOptions) {
    // The __Host- prefix pins the cookie to this origin (RFC 6265bis §4.1.3.2); it needs Secure.
    this.cookieName = options.secureCookies ? '__Host-latchkey_session' : 'latchkey_session';
  }

  /** The request's live session, if it has one. */
  async current(request: FastifyRequest): Promise<Session | undefined> {
    if (loaded.has(request)) return loaded.get(request) ?? undefined;
    const value = request.cookies[this.cookieName];
    const session = value ? await this.options.store.findSession(hashCredential(value), this.options.now()) : undefined;
    loaded.set(request, session ?? null);
    return session;
  }

  /** The live session, or a new anonymous one. */
  async ensure(request: FastifyRequest, reply: FastifyReply): Promise<Session> {
    return (await this.current(request)) ?? this.start(request, reply, null);
  }

  /**
   * Starts a fresh session, replacing the current one (session fixation:
   * the id changes whenever the privilege level does).
   */
  async start(request: FastifyRequest, reply: FastifyReply, userId: string | null): Promise<Session> {
    const previous = await this.current(request);
    const value = newCredential('session');
    const now = this.options.now();
    const session: Session = {
      idHash: hashCredential(value),
      userId,
      csrfToken: randomBytes(32).toString('base64url'),
      createdAt: now,
      expiresAt: now + this.options.ttlSeconds * 1000,
      authenticatedAt: userId === null ? null : now,
    };
    await this.options.store.transaction(async (tx) => {
      await tx.createSession(session);
      if (previous) {
        await tx.rebindPendingAuthorizations(previous.idHash, session.idHash);
        await tx.deleteSession(previous.idHash);
      }
    });
    reply.setCookie(this.cookieName, value, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: this.options.secureCookies,
      maxAge: this.options.ttlSeconds,
    });
    loaded.set(request, session);
    return session;
  }

  async end(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const session = await this.current(request);
    if (session) await this.options.store.deleteSession(session.idHash);
    reply.clearCookie(this.cookieName, { path: '/', httpOnly: true, sameSite: 'lax', secure: this.options.secureCookies });
    loaded.set(request, null);
  }

  /** Checks the form's CSRF token against the session's, in constant time. */
  static csrfValid(session: Session | undefined, presented: string | undefined): boolean {
    return session !== undefined && presented !== undefined && hashesEqual(session.csrfToken, presented);
  }
}
