/**
 * Where to go after signing in, when a page sent a signed-out visitor to
 * /login (the admin console): a short-lived cookie holding a path on this
 * server. Only admin console paths are ever followed, so it cannot become an
 * open redirect; anything else is ignored.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

const COOKIE = 'latchkey_return_to';
const SAFE_PATH = /^\/admin(\/[A-Za-z0-9._~:%-]+)*\/?$/;

/** Remembers `path` (an admin console path) for the sign-in that follows. */
export function rememberReturnTo(reply: FastifyReply, path: string, secure: boolean): void {
  if (SAFE_PATH.test(path)) reply.setCookie(COOKIE, path, { path: '/', httpOnly: true, sameSite: 'lax', secure, maxAge: 15 * 60 });
}

/** The remembered path, once: it is cleared as it is read. Undefined when there is none or it is not safe. */
export function takeReturnTo(request: FastifyRequest, reply: FastifyReply): string | undefined {
  const value = request.cookies[COOKIE];
  if (value === undefined) return undefined;
  reply.clearCookie(COOKIE, { path: '/' });
  return SAFE_PATH.test(value) ? value : undefined;
}
