/**
 * One place that turns errors into responses: OAuth JSON (RFC 6749 §5.2),
 * an HTML page, or plain JSON. Never a stack trace; unexpected errors are
 * logged with the request id and answered with a generic 500.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InsufficientScope, InvalidClient, InvalidRequest, InvalidToken, OAuthError, ServerError } from '../core/errors.js';
import { errorPage } from '../views/pages.js';

/** Maps Fastify's own request errors (bad body, wrong type, too large) to OAuth errors. */
function fromFrameworkError(error: FastifyError): OAuthError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new OAuthError('invalid_request', 413, 'The request body is too large.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new OAuthError('invalid_request', 415, 'The request content type is not supported here.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new InvalidRequest('The request body is not valid JSON.');
    default:
      if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
        return new OAuthError('invalid_request', error.statusCode, 'The request is malformed.');
      }
      return undefined;
  }
}

export function wwwAuthenticate(error: OAuthError, realm: string): string | undefined {
  if (error instanceof InvalidClient) return error.usedBasic ? `Basic realm="${realm}"` : undefined;
  if (error instanceof InsufficientScope) {
    return `Bearer realm="${realm}", error="insufficient_scope", error_description="${error.description}", scope="${error.scope}"`;
  }
  if (error instanceof InvalidToken) {
    return `Bearer realm="${realm}", error="invalid_token", error_description="${error.description}"`;
  }
  return undefined;
}

export function sendOAuthError(reply: FastifyReply, error: OAuthError, realm = 'latchkey'): FastifyReply {
  const challenge = wwwAuthenticate(error, realm);
  if (challenge) reply.header('www-authenticate', challenge);
  return reply
    .code(error.status)
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .type('application/json; charset=utf-8')
    .send(error.toJSON());
}

export function sendErrorPage(reply: FastifyReply, status: number, title: string, message: string): FastifyReply {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(errorPage(title, message, { brand: reply.server.brand }));
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((raw: FastifyError | OAuthError, request: FastifyRequest, reply: FastifyReply) => {
    let error: OAuthError;
    if (raw instanceof OAuthError) {
      error = raw;
      if (error.detail) request.log.info({ err: { type: error.error, detail: error.detail } }, 'request refused');
    } else {
      const mapped = fromFrameworkError(raw as FastifyError);
      if (mapped) {
        error = mapped;
        request.log.info({ err: { code: (raw as FastifyError).code } }, 'malformed request');
      } else {
        request.log.error({ err: raw }, 'unexpected error');
        error = new ServerError();
      }
    }
    const format = request.routeOptions.config?.errorFormat ?? 'json';
    if (format === 'page') {
      const title = error.status >= 500 ? 'Something went wrong' : 'This request cannot be completed';
      return sendErrorPage(reply, error.status, title, error.description);
    }
    return sendOAuthError(reply, error);
  });

  app.setNotFoundHandler((request, reply) => {
    if (request.headers.accept?.includes('text/html')) {
      return sendErrorPage(reply, 404, 'Page not found', 'There is nothing at this address.');
    }
    return reply.code(404).send({ error: 'not_found', error_description: 'No such endpoint.' });
  });
}
