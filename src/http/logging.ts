/** Logger options: structured, with every credential kept out of the output. */
import type { FastifyServerOptions } from 'fastify';

const SENSITIVE_PARAMS = new Set([
  'code',
  'code_verifier',
  'client_secret',
  'refresh_token',
  'access_token',
  'token',
  'password',
  'csrf_token',
  'id_token',
  'assertion',
]);

/** The request URL with the values of credential parameters masked. */
export function redactUrl(url: string): string {
  const mark = url.indexOf('?');
  if (mark === -1) return url;
  const query = new URLSearchParams(url.slice(mark + 1));
  let changed = false;
  for (const name of [...query.keys()]) {
    if (SENSITIVE_PARAMS.has(name.toLowerCase())) {
      query.set(name, '[redacted]');
      changed = true;
    }
  }
  return changed ? `${url.slice(0, mark)}?${query.toString()}` : url;
}

export function loggerOptions(level: string): Exclude<FastifyServerOptions['logger'], boolean | undefined> {
  return {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.client_secret'],
      censor: '[redacted]',
    },
    serializers: {
      req(request: { method: string; url: string; ip?: string; id?: string }) {
        return { method: request.method, url: redactUrl(request.url), remoteAddress: request.ip };
      },
    },
  };
}
