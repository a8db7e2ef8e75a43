import t from 'tap';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNode } from '../helpers/node.js';
import { call } from '../helpers/http.js';

const API_MD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/API.md');
const node = await startNode();
t.teardown(() => node.close());

/** "GET /v1/jobs/{id}" pairs named in docs/API.md */
async function documentedRoutes(): Promise<Array<[string, string]>> {
  const text = await readFile(API_MD, 'utf8');
  const found = new Set<string>();
  for (const match of text.matchAll(/`(GET|POST|DELETE) (\/[^\s`?]+)/g)) found.add(`${match[1]} ${match[2]}`);
  return [...found].map((r) => r.split(' ') as [string, string]).map(([m, p]) => [m, p.replace(/\{(\w+)\}/g, '{$1}')]);
}

t.test('/openapi.json is an OpenAPI 3 document covering every route of docs/API.md', async (t) => {
  const res = await call(node, 'GET', '/openapi.json');
  t.equal(res.status, 200);
  t.match(res.body.openapi, /^3\./);
  const routes = await documentedRoutes();
  t.ok(routes.length >= 20, `docs/API.md names ${routes.length} routes`);
  const normalise = (p: string): string => p.replace(/\{[^}]+\}/g, '{}');
  const paths = new Map<string, Set<string>>();
  for (const [p, ops] of Object.entries(res.body.paths as Record<string, Record<string, unknown>>)) paths.set(normalise(p), new Set(Object.keys(ops)));
  for (const [method, route] of routes) {
    t.ok(paths.get(normalise(route))?.has(method.toLowerCase()), `${method} ${route} is in the OpenAPI document`);
  }
});

t.test('docs/openapi.json is the document the daemon serves', async (t) => {
  const served = (await call(node, 'GET', '/openapi.json')).body;
  const committed = JSON.parse(await readFile(path.join(path.dirname(API_MD), 'openapi.json'), 'utf8'));
  t.same(committed.paths, served.paths, 'regenerate with: node scripts/write-openapi.js');
});
