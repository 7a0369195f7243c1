/** Token endpoints, one per preset entry (RFC 6749 §3.2). */
import type { FastifyInstance } from 'fastify';
import { InvalidRequest, OAuthError } from '../../core/errors.js';
import { handleTokenRequest, tokenResponseBody } from '../../core/token-endpoint.js';
import type { TokenEndpointPreset } from '../../config/presets/types.js';
import type { AppContext } from '../context.js';
import { type FormParams, isFormParams, mergeForms, queryOf } from '../form.js';

const ALL_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

function mediaType(header: string | undefined): string | undefined {
  return header?.split(';')[0]?.trim().toLowerCase();
}

/** Reads the endpoint's parameters from the body and, where the preset allows, the query. */
function requestParams(endpoint: TokenEndpointPreset, method: string, url: string, body: unknown, contentType: string | undefined): FormParams {
  let form: FormParams = { params: {}, repeated: [] };
  if (method === 'POST') {
    const type = mediaType(contentType);
    if (type === undefined && !endpoint.queryParams) {
      throw new OAuthError('invalid_request', 415, 'The request must be sent as application/x-www-form-urlencoded.');
    }
    if (type !== undefined) {
      if (!(endpoint.contentTypes as string[]).includes(type) || !isFormParams(body)) {
        throw new OAuthError('invalid_request', 415, `The request must be sent as ${endpoint.contentTypes.join(' or ')}.`);
      }
      form = body;
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
          { store: ctx.store, settings: ctx.settings, endpoint, now: ctx.clock.now() },
        );
        // RFC 6749 §5.1: "Cache-Control: no-store" and "Pragma: no-cache".
        return reply
          .header('cache-control', 'no-store')
          .header('pragma', 'no-cache')
          .send(tokenResponseBody(issued, endpoint.response));
      },
    });
  }
}
