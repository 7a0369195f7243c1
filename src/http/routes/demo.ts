/**
 * The demo client's redirect target: shows the code (or error) it received
 * and the curl command that redeems it, so the flow can be walked by hand.
 */
import type { FastifyInstance } from 'fastify';
import { html } from '../../views/html.js';
import { page } from '../../views/layout.js';
import type { AppContext } from '../context.js';
import { queryOf } from '../form.js';

export function registerDemoRoutes(app: FastifyInstance, ctx: AppContext): void {
  const tokenPath = ctx.preset.tokenEndpoints[0]?.path ?? '/oauth/token';
  app.get('/demo/callback', { config: { errorFormat: 'page' } }, async (request, reply) => {
    const { params } = queryOf(request.url);
    const redirectUri = `${ctx.settings.issuer}/demo/callback`;
    const body = params.code
      ? html`<h1>Authorization code received</h1>
<p>state: <code>${params.state ?? ''}</code></p>
<p>Exchange it within ${ctx.settings.codeTtlSeconds} seconds:</p>
<pre>curl -s -u "$CLIENT_ID:$CLIENT_SECRET" \\
  -d grant_type=authorization_code \\
  -d code=${params.code} \\
  --data-urlencode redirect_uri=${redirectUri} \\
  ${ctx.settings.issuer}${tokenPath}</pre>`
      : html`<h1>The authorization failed</h1>
<p class="error" role="alert">${params.error ?? 'no code'}: ${params.error_description ?? ''}</p>`;
    return reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(page('Demo callback', body));
  });
}
