import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { PROMTOOL_MISSING, REPO_ROOT, apiMetricNames, promtool } from './deploy-files.js';

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
  panels?: Panel[];
}

const dashboard = JSON.parse(await readFile(path.join(REPO_ROOT, 'deploy', 'grafana', 'infernode-dashboard.json'), 'utf8')) as {
  panels: Panel[];
  templating: { list: Array<{ type: string; definition?: string }> };
};
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const expressions = panels.flatMap((p) => (p.targets ?? []).map((target) => ({ panel: p.title, expr: target.expr })));
/** label_values(<metric>, <label>) of the query variables */
const variableMetrics = dashboard.templating.list.filter((v) => v.type === 'query').map((v) => /^label_values\((\w+),/.exec(v.definition ?? '')?.[1] ?? '');

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** Metric names an expression selects: identifiers outside strings, label matchers, ranges and groupings that are not functions. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/\$\w+/g, '');
  return [...bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)].filter((m) => !m[2] && !KEYWORDS.has(m[1]!.toLowerCase())).map((m) => m[1]!);
}

t.test('the dashboard parses and has panels with PromQL targets', async (t) => {
  t.ok(expressions.length >= 20);
  for (const { panel, expr } of expressions) t.ok(expr.trim().length > 0, `${panel} has an expression`);
});

t.test('every expression selects only metrics of the API.md table, up and infernode_ready', async (t) => {
  const allowed = new Set([...(await apiMetricNames()), 'up', 'infernode_ready']);
  for (const { panel, expr } of expressions) {
    const names = metricNames(expr);
    t.ok(names.length > 0, `${panel}: selects a metric`);
    for (const name of names) t.ok(allowed.has(name), `${panel}: ${name} is a metric of the contract`);
  }
  for (const name of variableMetrics) t.ok(allowed.has(name), `variable query on ${name}`);
});

t.test('every metric of the API.md table has a panel', async (t) => {
  const shown = new Set(expressions.flatMap(({ expr }) => metricNames(expr)).map((n) => n.replace(/_(bucket|sum|count)$/, '')));
  const families = [...(await apiMetricNames())].filter((n) => !/_(bucket|sum|count)$/.test(n) || n.endsWith('_total'));
  for (const family of families) t.ok(shown.has(family), family);
});

t.test('the panels the issue lists are there', async (t) => {
  const titles = panels.map((p) => p.title.toLowerCase());
  for (const words of [
    /jobs.*by type and status/, /queue depth/, /run time percentiles/, /time to first token/, /inter-token/,
    /tokens\/s/, /diffusion steps\/s/, /gpu utilization/, /gpu memory/, /gpu power/, /scratch bytes/, /scratch erasures/,
  ]) t.ok(titles.some((title) => words.test(title)), String(words));
});

t.test('every expression is valid PromQL (promtool parses them as recording rules)', { skip: PROMTOOL_MISSING }, async (t) => {
  const rules = expressions.map(({ expr }, i) => ({ record: `dashboard:expr_${i}`, expr: expr.replaceAll('$__rate_interval', '5m').replaceAll('$pod', '.*') }));
  const result = await promtool(['check', 'rules', 'rules.yml'], { 'rules.yml': stringify({ groups: [{ name: 'dashboard', rules }] }) });
  t.equal(result.status, 0, result.output);
});
