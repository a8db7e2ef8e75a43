import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, parseConfig } from '../config/options.js';
import { checkModelDir, type GraphSignature, type ModelCheckReport } from '../runtime/model-check.js';
import { scanModels } from '../runtime/model-catalog.js';

export interface CommandOutput {
  out(line: string): void;
  err(line: string): void;
}

const CONSOLE: CommandOutput = { out: (line) => console.log(line), err: (line) => console.error(line) };

const USAGE = [
  'Usage: infernode models list [--models-dir DIR] [--json]',
  '       infernode models check <dir>... [--json]',
].join('\n');

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function graphLines(graph: GraphSignature): string[] {
  const opset = graph.opsets[''] ?? graph.opsets['ai.onnx'];
  const header = `  ${graph.file}  ${formatBytes(graph.bytes)}, IR ${graph.irVersion}${opset ? `, opset ${opset}` : ''}`;
  const data = graph.externalData.length ? [`    external data: ${graph.externalData.join(', ')}`] : [];
  const width = Math.max(0, ...[...graph.inputs, ...graph.outputs].map((v) => v.name.length));
  const value = (kind: string) => (v: GraphSignature['inputs'][number]) => `    ${kind} ${v.name.padEnd(width)}  ${v.datatype} [${v.dims.join(', ')}]`;
  return [header, ...data, ...graph.inputs.map(value('input ')), ...graph.outputs.map(value('output'))];
}

function reportLines(report: ModelCheckReport): string[] {
  const verdict = report.problems.length === 0 ? 'OK' : `FAILED: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}`;
  return [
    `${report.name} (${report.type ?? 'unknown type'}) at ${report.dir}`,
    ...report.graphs.flatMap(graphLines),
    ...report.warnings.map((w) => `  warning: ${w}`),
    ...report.problems.map((p) => `  problem: ${p}`),
    verdict,
  ];
}

async function directoryBytes(dir: string): Promise<number> {
  const names = await readdir(dir, { recursive: true });
  const sizes = await Promise.all(names.map((n) => stat(path.join(dir, n)).then((s) => (s.isFile() ? s.size : 0), () => 0)));
  return sizes.reduce((a, b) => a + b, 0);
}

async function checkCommand(dirs: string[], json: boolean, io: CommandOutput): Promise<number> {
  if (dirs.length === 0) {
    io.err(USAGE);
    return 2;
  }
  const reports: ModelCheckReport[] = [];
  for (const dir of dirs) reports.push(await checkModelDir(dir));
  if (json) io.out(JSON.stringify(dirs.length === 1 ? reports[0] : reports, null, 2));
  else io.out(reports.map((r) => reportLines(r).join('\n')).join('\n\n'));
  return reports.every((r) => r.problems.length === 0) ? 0 : 1;
}

async function listCommand(flags: string[], json: boolean, io: CommandOutput): Promise<number> {
  const { modelsDir } = parseConfig(flags);
  try {
    if (!(await stat(modelsDir)).isDirectory()) throw new Error('not a directory');
  } catch {
    io.err(`infernode: models dir ${modelsDir} is not a readable directory (--models-dir or INFERNODE_MODELS_DIR)`);
    return 1;
  }
  const entries = await Promise.all(
    (await scanModels(modelsDir)).map(async (e) => ({
      name: e.name,
      type: e.spec?.type ?? null,
      bytes: await directoryBytes(path.join(modelsDir, e.name)),
      problem: e.problem,
    })),
  );
  if (json) {
    io.out(JSON.stringify({ models_dir: path.resolve(modelsDir), models: entries }, null, 2));
    return 0;
  }
  if (entries.length === 0) {
    io.out(`no model directories in ${path.resolve(modelsDir)}`);
    return 0;
  }
  const nameWidth = Math.max(4, ...entries.map((e) => e.name.length));
  io.out(`${'NAME'.padEnd(nameWidth)}  TYPE    SIZE        STATE`);
  for (const e of entries) {
    const state = e.problem ? `unusable: ${e.problem}` : 'ok';
    io.out(`${e.name.padEnd(nameWidth)}  ${(e.type ?? '-').padEnd(6)}  ${formatBytes(e.bytes).padEnd(10)}  ${state}`);
  }
  io.out('(layouts only: "infernode models check <dir>" reads the graphs)');
  return 0;
}

/** `infernode models list|check ...`; returns the exit code: 0 fine, 1 a model or the models dir is unusable, 2 usage. */
export async function runModelsCommand(argv: string[], io: CommandOutput = CONSOLE): Promise<number> {
  const [sub, ...rest] = argv;
  const json = rest.includes('--json');
  const args = rest.filter((a) => a !== '--json');
  try {
    switch (sub) {
      case 'check': {
        const unknown = args.find((a) => a.startsWith('--'));
        if (unknown) throw new ConfigError(`unknown flag "${unknown.slice(0, 64)}" for models check`);
        return await checkCommand(args, json, io);
      }
      case 'list':
        return await listCommand(args, json, io);
      case '--help':
      case '-h':
        io.out(USAGE);
        return 0;
      default:
        io.err(USAGE);
        return 2;
    }
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`infernode: ${err.message}`);
    return 2;
  }
}
