// Reads the deployment files from the source tree, for the tests of test/ops/.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** From dist/test/ops/ back to the repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const KUBERNETES_DIR = path.join(REPO_ROOT, 'deploy', 'kubernetes');

export const PROMTOOL_MISSING: string | false =
  spawnSync('promtool', ['--version']).status === 0 ? false : 'promtool is not installed (deploy/ci/install-promtool.sh installs it; .ci/run calls that)';

export type Manifest = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every document of a YAML file; throws with the file name and position on any parse error. */
export async function readYamlDocuments(file: string): Promise<Manifest[]> {
  const docs = parseAllDocuments(await readFile(file, 'utf8'));
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    if (doc.errors.length) throw new Error(`${path.relative(REPO_ROOT, file)}: ${doc.errors[0]!.message}`);
  }
  return list.map((doc) => doc.toJS() as Manifest).filter((doc) => doc !== null);
}

export async function kubernetesFiles(): Promise<string[]> {
  return (await readdir(KUBERNETES_DIR)).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(KUBERNETES_DIR, f));
}

/** The manifest of that kind (and name, if given) among all files of deploy/kubernetes/. */
export async function manifest(kind: string, name = 'infernode'): Promise<Manifest> {
  for (const file of await kubernetesFiles()) {
    for (const doc of await readYamlDocuments(file)) if (doc['kind'] === kind && doc['metadata']?.['name'] === name) return doc;
  }
  throw new Error(`no ${kind} named ${name} in deploy/kubernetes/`);
}

/** The PrometheusRule's groups as a plain Prometheus rules file (what promtool reads). */
export async function rulesFileText(): Promise<string> {
  const rule = await manifest('PrometheusRule');
  return JSON.stringify({ groups: rule['spec']['groups'] }, null, 2);
}

/** Metric names of the metrics table of docs/API.md (histograms also as _bucket/_sum/_count). */
export async function apiMetricNames(): Promise<Set<string>> {
  const api = await readFile(path.join(REPO_ROOT, 'docs', 'API.md'), 'utf8');
  const section = api.slice(api.indexOf('## Metrics'));
  const names = new Set<string>();
  for (const row of section.split('\n').filter((l) => l.startsWith('| `infernode_'))) {
    const [names_, type] = row.split('|').slice(1, 3);
    for (const [, name] of names_!.matchAll(/`(infernode_[a-z0-9_]+)`/g)) {
      names.add(name!);
      if (type!.trim() === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name! + suffix);
    }
  }
  return names;
}

/** The rules with their annotations dropped: promtool's unit tests compare annotations verbatim, and these test firing. */
export async function rulesWithoutAnnotations(): Promise<string> {
  const { groups } = JSON.parse(await rulesFileText()) as { groups: Array<{ rules: Array<Record<string, unknown>> }> };
  for (const group of groups) for (const rule of group.rules) delete rule['annotations'];
  return JSON.stringify({ groups }, null, 2);
}

export interface PromtoolResult {
  status: number | null;
  output: string;
}

/** Runs `promtool <args...>` in a fresh directory holding `files` (name → content). */
export async function promtool(args: string[], files: Record<string, string>): Promise<PromtoolResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'infernode-promtool-'));
  try {
    for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
    const run = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
