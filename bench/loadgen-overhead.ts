// The load generator's own overhead: autocannon and `infernode bench --type tensor` against the same KServe
// infer route of one daemon, alternating, in one run; medians over several rounds and their ratio (target ≥ 0.9).
// Usage: node dist/bench/loadgen-overhead.js [--url URL --token T] [--model tiny-tensor] [--connections 8]
//        [--duration 5] [--rounds 3]
// Without --url it writes the fixture model to a temporary models dir and starts `infernode serve` on a free
// loopback port, in its own process, so the daemon and the clients do not share an event loop.
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { makeFixtures } from '../scripts/make-fixtures.js';
import { tensorInputFromMetadata } from '../src/loadgen/inputs.js';
import { parseBenchArgs } from '../src/loadgen/options.js';
import { runSweep } from '../src/loadgen/sweep.js';
import { spawnDaemon } from './lib/daemon-process.js';
import { median, waitReady } from './lib/measure.js';

interface AutocannonResult {
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
  latency: { p50: number; p99: number };
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

interface Sample {
  requestsPerS: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
}

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' }, token: { type: 'string' }, model: { type: 'string', default: 'tiny-tensor' },
    connections: { type: 'string', default: '8' }, duration: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' },
  },
});
const connections = Number(args.connections);
const durationS = Number(args.duration);
const rounds = Number(args.rounds);

async function startDaemon(model: string, modelsDir: string): Promise<{ url: string; child: ChildProcess }> {
  const written = await makeFixtures(modelsDir, (f) => f.name === model);
  if (written.length === 0) throw new Error(`no fixture model named ${model}; give --url of a node that serves it`);
  const daemon = await spawnDaemon(['--models-dir', modelsDir, '--preload', model, '--device', 'cpu', '--log-level', 'warn']);
  await waitReady(daemon.url);
  return { url: daemon.url, child: daemon.child };
}

async function inferBody(url: string, headers: Record<string, string>, model: string): Promise<string> {
  const res = await request(`${url}/v2/models/${model}`, { headers });
  if (res.statusCode !== 200) throw new Error(`GET /v2/models/${model}: HTTP ${res.statusCode}`);
  return JSON.stringify(tensorInputFromMetadata((await res.body.json()) as Parameters<typeof tensorInputFromMetadata>[0]));
}

async function runAutocannon(url: string, headers: Record<string, string>, model: string, body: string): Promise<Sample> {
  const r = await autocannon({
    url: `${url}/v2/models/${model}/infer`, method: 'POST', connections, duration: durationS, body,
    headers: { ...headers, 'content-type': 'application/json' },
  });
  return { requestsPerS: r['2xx'] / r.duration, p50Ms: r.latency.p50, p99Ms: r.latency.p99, failed: r.non2xx + r.errors + r.timeouts };
}

async function runInfernodeBench(url: string, token: string | undefined, model: string, body: string, dir: string): Promise<Sample> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(`${dir}/inputs.jsonl`, `${body}\n`);
  const command = parseBenchArgs([
    '--url', url, ...(token ? ['--token', token] : []), '--type', 'tensor', '--model', model,
    '--concurrency', String(connections), '--duration', `${durationS}s`, '--warmup', '0', '--inputs', `${dir}/inputs.jsonl`, '--no-metrics',
  ]);
  if (command.kind !== 'run') throw new Error('unexpected command');
  const [point] = (await runSweep(command.options)).points;
  if (!point) throw new Error('no point measured');
  return { requestsPerS: point.throughput.requestsPerS, p50Ms: (point.latencyS.e2e?.p50 ?? NaN) * 1000, p99Ms: (point.latencyS.e2e?.p99 ?? NaN) * 1000, failed: point.requests.failed };
}

const { mkdtemp, rm } = await import('node:fs/promises');
const dir = await mkdtemp('/tmp/loadgen-overhead-');
const daemon = args.url ? null : await startDaemon(args.model, `${dir}/models`);
const url = args.url ?? (daemon?.url as string);
const headers: Record<string, string> = args.token ? { authorization: `Bearer ${args.token}` } : {};
try {
  const body = await inferBody(url, headers, args.model);
  const samples: Record<'autocannon' | 'infernode bench', Sample[]> = { autocannon: [], 'infernode bench': [] };
  for (let round = 0; round < rounds; round++) {
    // Alternate which tool goes first, so a drift of the machine does not favour one.
    const order = round % 2 === 0 ? (['autocannon', 'infernode bench'] as const) : (['infernode bench', 'autocannon'] as const);
    for (const tool of order) {
      samples[tool].push(tool === 'autocannon' ? await runAutocannon(url, headers, args.model, body) : await runInfernodeBench(url, args.token, args.model, body, dir));
    }
  }
  const summary = (tool: keyof typeof samples) => {
    const s = samples[tool];
    return { rps: median(s.map((x) => x.requestsPerS)), p50: median(s.map((x) => x.p50Ms)), p99: median(s.map((x) => x.p99Ms)), runs: s.map((x) => x.requestsPerS.toFixed(0)).join(','), failed: s.reduce((n, x) => n + x.failed, 0) };
  };
  const a = summary('autocannon');
  const b = summary('infernode bench');
  console.log(`loadgen overhead: POST /v2/models/${args.model}/infer on ${url}, ${connections} connections, ${durationS} s a run, ${rounds} rounds (medians)`);
  console.log('tool             req/s    p50 ms  p99 ms  failed  runs (req/s)');
  for (const [name, s] of [['autocannon', a], ['infernode bench', b]] as const) {
    console.log(`${name.padEnd(16)} ${s.rps.toFixed(0).padStart(7)}  ${s.p50.toFixed(2).padStart(6)}  ${s.p99.toFixed(2).padStart(6)}  ${String(s.failed).padStart(6)}  ${s.runs}`);
  }
  console.log(`ratio infernode bench / autocannon: ${(b.rps / a.rps).toFixed(3)} (target >= 0.90)`);
} finally {
  daemon?.child.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
}
