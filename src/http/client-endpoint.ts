/**
 * Endpoints a client calls with its credentials and a form (RFC 7009
 * revocation, RFC 7662 introspection): POST only, form-encoded, each
 * parameter at most once, errors as RFC 6749 §5.2 JSON.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidRequest, OAuthError } from '../core/errors.js';
import { isFormParams } from './form.js';

export const REVOCATION_PATH = '/oauth/revoke';
export const INTROSPECTION_PATH = '/oauth/introspect';
export const JWKS_PATH = '/oauth/jwks.json';

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

export function registerClientEndpoint(
  app: FastifyInstance,
  path: string,
  handle: (params: Record<string, string>, request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>,
): void {
  app.route({
    method: [...ALL_METHODS],
    url: path,
    config: { errorFormat: 'oauth' },
    handler: async (request, reply) => {
      // RFC 7009 §2.1 and RFC 7662 §2.1: the client sends an HTTP POST with
      // parameters "using the "application/x-www-form-urlencoded" format".
      if (request.method !== 'POST') {
        reply.header('allow', 'POST');
        throw new OAuthError('invalid_request', 405, 'This endpoint accepts POST only.');
      }
      const mediaType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
      if (mediaType !== 'application/x-www-form-urlencoded' || !isFormParams(request.body)) {
        throw new OAuthError('invalid_request', 415, 'The request must be sent as application/x-www-form-urlencoded.');
      }
      const { params, repeated } = request.body;
      // RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once."
      if (repeated.length > 0) throw new InvalidRequest(`The request repeats ${repeated.join(', ')}.`);
      return handle(params, request, reply);
    },
  });
}
