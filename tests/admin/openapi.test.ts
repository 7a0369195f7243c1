/**
 * /admin/api/openapi.json describes the admin API exactly: every route the
 * server registers under /admin/api is in the description with its method,
 * and every described operation exists, with its parameters, request body,
 * responses and the bearer-token security scheme.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ISSUER } from '../support/agent.js';
import { useAdminServer } from '../support/admin.js';
import { dialects } from '../support/databases.js';

/** Every route of `app.printRoutes({ commonPrefix: false })`: the full path and its methods. */
function registeredRoutes(tree: string): Array<{ path: string; methods: string[] }> {
  const routes: Array<{ path: string; methods: string[] }> = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([\u2502 ]*)(?:\u251c\u2500\u2500 |\u2514\u2500\u2500 )(.*) \(([^)]*)\)$/.exec(line);
    if (!match) continue;
    const depth = (match[1] as string).length / 4;
    stack.length = depth;
    stack[depth] = match[2] as string;
    const methods = (match[3] as string).split(', ').filter((method) => method !== '-' && method !== 'HEAD');
    if (methods.length > 0) routes.push({ path: stack.join('').replace(/^\/\//, '/'), methods });
  }
  return routes;
}

const openApiPath = (path: string) => path.replace(/:([A-Za-z_]+)/g, '{$1}');

type Operation = {
  operationId: string;
  summary: string;
  tags: string[];
  parameters: Array<{ name: string; in: string; required: boolean; schema: Record<string, unknown> }>;
  requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; required?: string[] } }> };
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
  security?: unknown[];
};

for (const dialect of await dialects()) {
  describe(`admin API: the OpenAPI description (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useAdminServer(dialect);

    async function document() {
      const response = await server.app.inject({ url: '/admin/api/openapi.json' });
      assert.equal(response.statusCode, 200, 'served without a token');
      assert.match(String(response.headers['content-type']), /^application\/json/);
      return response.json() as {
        openapi: string;
        servers: Array<{ url: string }>;
        security: unknown[];
        paths: Record<string, Record<string, Operation>>;
        components: { securitySchemes: Record<string, { type: string; scheme: string }>; schemas: Record<string, unknown> };
      };
    }

    test('every route under /admin/api is described, and every described operation is a route', async () => {
      const doc = await document();
      assert.equal(doc.openapi, '3.1.0');
      assert.deepEqual(doc.servers, [{ url: ISSUER }]);
      const registered = registeredRoutes(server.app.printRoutes({ commonPrefix: false })).filter((route) => route.path.startsWith('/admin/api/'));

      const described = new Set(Object.entries(doc.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`)));
      const routes = new Set(registered.flatMap((route) => route.methods.map((method) => `${method} ${openApiPath(route.path)}`)));
      assert.ok(routes.size >= 30, `found only ${routes.size} admin API operations`);
      assert.deepEqual([...routes].filter((route) => !described.has(route)), [], 'routes missing from the description');
      assert.deepEqual([...described].filter((operation) => !routes.has(operation)), [], 'described operations with no route');
      for (const operation of described) {
        const [method, path] = operation.split(' ') as [string, string];
        assert.ok(server.app.hasRoute({ method: method as 'GET', url: path.replace(/\{([^}]+)\}/g, ':$1') }), `${operation} is a route`);
      }
    });

    test('each operation has an id, a summary, its path parameters, its body schema, its responses and the bearer token', async () => {
      const doc = await document();
      assert.deepEqual(doc.components.securitySchemes.adminToken, {
        type: 'http',
        scheme: 'bearer',
        description: 'An admin API token, lk_adm_...',
      });
      assert.deepEqual(doc.security, [{ adminToken: [] }]);
      assert.ok(doc.components.schemas.Error, 'doc.components.schemas.Error');
      const ids = new Set<string>();
      for (const [path, operations] of Object.entries(doc.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          const where = `${method.toUpperCase()} ${path}`;
          assert.ok(operation.operationId && !ids.has(operation.operationId), `${where}: a unique operationId`);
          ids.add(operation.operationId);
          assert.ok(operation.summary, `${where}: a summary`);
          assert.ok(operation.tags.length > 0, `${where}: a tag`);
          const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
          assert.deepEqual(
            operation.parameters.filter((parameter) => parameter.in === 'path').map((parameter) => parameter.name),
            pathParams,
            `${where}: its path parameters`,
          );
          assert.ok(operation.parameters.every((parameter) => parameter.in !== 'path' || parameter.required), `${where}: path parameters are required`);
          const success = Object.keys(operation.responses).filter((status) => status.startsWith('2'));
          assert.ok(success.length > 0, `${where}: a success response`);
          if (path === '/admin/api/openapi.json') {
            assert.deepEqual(operation.security, [], 'the description itself needs no token');
            continue;
          }
          assert.ok(operation.responses['401'], `${where}: 401 described`);
          assert.ok(operation.responses['400'], `${where}: 400 described`);
          if (pathParams.length > 0) assert.ok(operation.responses['404'], `${where}: 404 described`);
          if (method === 'post' || method === 'put' || method === 'patch') {
            assert.ok(operation.requestBody?.content['application/json'], `${where}: a JSON request body`);
          }
        }
      }
      const create = doc.paths['/admin/api/clients']?.post;
      const body = create?.requestBody?.content['application/json']?.schema;
      assert.deepEqual(body?.required, ['name']);
      for (const field of ['name', 'redirect_uris', 'scopes', 'grant_types', 'public', 'legacy', 'allow_new_legacy', 'access_token_ttl', 'refresh_token_ttl', 'partner_portal_id']) {
        assert.ok(body?.properties?.[field], `createClient documents ${field}`);
      }
      const created = create?.responses['201']?.content?.['application/json']?.schema as { properties?: Record<string, unknown> };
      assert.ok(created.properties?.client_secret, 'the secret in the creation response is documented');
      const csv = doc.paths['/admin/api/partners/{partner}/report.csv']?.get;
      assert.ok(csv?.responses['200']?.content?.['text/csv'], 'csv?.responses[\'200\']?.content?.[\'text/csv\']');
      const audit = doc.paths['/admin/api/audit']?.get;
      assert.deepEqual(
        audit?.parameters.map((parameter) => parameter.name),
        ['type', 'actor', 'subject', 'from', 'to', 'before', 'limit'],
      );
    });

    test('the described operations answer as described: 401 without a token, not 404', async () => {
      const doc = await document();
      for (const [path, operations] of Object.entries(doc.paths)) {
        if (path === '/admin/api/openapi.json') continue;
        for (const method of Object.keys(operations)) {
          const url = path.replace('{client_id}', 'lkc_x').replace('{grant_id}', 'grt_x').replace('{token_id}', 'adt_x').replace(/\{[^}]+\}/g, 'x');
          const response = await server.app.inject({ method: method.toUpperCase() as 'GET', url });
          assert.equal(response.statusCode, 401, `${method.toUpperCase()} ${path}`);
        }
      }
    });
  });
}
