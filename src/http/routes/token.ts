/** Token endpoints, one per preset entry (RFC 6749 §3.2). */
import type { FastifyInstance } from 'fastify';
import { InvalidRequest, OAuthError } from '../../core/errors.js';
import { handleTokenRequest, responseSubject, tokenResponseBody } from '../../core/token-endpoint.js';
import type { TokenEndpointPreset } from '../../config/presets/types.js';
import type { AppContext } from '../context.js';
import { type FormParams, formFromJson, formFromMultipart, isFormParams, mergeForms, queryOf } from '../form.js';

const ALL_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

function mediaType(header: string | undefined): string | undefined {
  return header?.split(';')[0]?.trim().toLowerCase();
}

/** The body as parameters, by media type; undefined when it cannot be read as such. */
function bodyParams(type: string, body: unknown): FormParams | undefined {
  switch (type) {
    case 'application/x-www-form-urlencoded':
      return isFormParams(body) ? body : undefined;
    case 'multipart/form-data':
      return formFromMultipart(body);
    case 'application/json':
      return formFromJson(body);
    default:
      return undefined;
  }
}

/** Reads the endpoint's parameters from the body and, where the preset allows, the query. */
function requestParams(endpoint: TokenEndpointPreset, method: string, url: string, body: unknown, contentType: string | undefined): FormParams {
  const accepted = `The request must be sent as ${endpoint.contentTypes.join(' or ')}.`;
  let form: FormParams = { params: {}, repeated: [] };
  if (method === 'POST') {
    const type = mediaType(contentType);
    if (type === undefined) {
      if (!endpoint.queryParams) throw new OAuthError('invalid_request', 415, accepted);
    } else {
      if (!(endpoint.contentTypes as string[]).includes(type)) throw new OAuthError('invalid_request', 415, accepted);
      const parsed = bodyParams(type, body);
      if (!parsed) throw new InvalidRequest('The request body is not a flat set of parameters.');
      form = parsed;
    }
  }
  if (endpoint.queryParams) form = mergeForms(queryOf(url), form);
  return form;
}

export function registerTokenRoutes(app: FastifyInstance, ctx: AppContext): void {
  for (const endpoint of ctx.preset.tokenEndpoints) {
    app.route({
      method: [...ALL_METHODS],
      url: endpoint.path,
      config: { errorFormat: 'oauth' },
      handler: async (request, reply) => {
        if (!(endpoint.methods as string[]).includes(request.method)) {
          reply.header('allow', endpoint.methods.join(', '));
          throw new OAuthError('invalid_request', 405, `The token endpoint accepts ${endpoint.methods.join(' or ')} only.`);
        }
        const { params, repeated } = requestParams(endpoint, request.method, request.url, request.body, request.headers['content-type']);
        // RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once."
        if (repeated.length > 0) throw new InvalidRequest(`The request repeats ${repeated.join(', ')}.`);
        const issued = await handleTokenRequest(
          { params, authorization: request.headers.authorization },
          { store: ctx.store, settings: ctx.settings, endpoint, now: ctx.clock.now(), throttle: ctx.throttle, whenThrottleDown: ctx.config.passwordGrantWhenCountersDown, ip: request.ip },
        );
        ctx.metrics.observeTokenIssued(params.grant_type ?? 'unknown');
        // RFC 6749 §5.1: "Cache-Control: no-store" and "Pragma: no-cache".
        return reply
          .header('cache-control', 'no-store')
          .header('pragma', 'no-cache')
          .send(tokenResponseBody(issued, endpoint.response, await responseSubject(issued, endpoint.response, ctx.store)));
      },
    });
  }
}
