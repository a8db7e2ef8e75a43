import { readFile, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import t from 'tap';
import { runBenchCommand } from '../../src/loadgen/command.js';
import type { PointResult } from '../../src/loadgen/point-summary.js';
import type { BenchResult } from '../../src/loadgen/sweep.js';
import { startFakeNode } from './fake-node.js';

function capture() {
  const out = { text: '' };
  return { sink: { write: (s: string) => (out.text += s), isTTY: false }, out };
}

async function bench(argv: string[]) {
  const stdout = capture();
  const stderr = capture();
  const code = await runBenchCommand(argv, { stdout: stdout.sink, stderr: stderr.sink });
  return { code, stdout: stdout.out.text, stderr: stderr.out.text };
}

t.test('a sweep writes the table, JSON, CSV and an SVG plot that agree with what the node served', async (t) => {
  const fake = await startFakeNode({ rejectEvery: 5, token: 'sekrit-token' });
  t.teardown(() => fake.close());
  const dir = t.testdir();
  const run = await bench(['--url', fake.url, '--token', 'sekrit-token', '--type', 'chat', '--model', 'tiny-chat', '--concurrency', '1,2', '--requests', '10', '--warmup', '0', '--max-tokens', '3', '--json', `${dir}/r.json`, '--csv', `${dir}/r.csv`, '--plot', `${dir}/r.svg`]);
  t.equal(run.code, 0);
  t.match(run.stdout, /c=1 .*yes \(429\)/);
  t.match(run.stdout, /c=2 errors: http_429=2/);
  t.equal(run.stderr, `wrote ${dir}/r.json\nwrote ${dir}/r.csv\nwrote ${dir}/r.svg\n`, 'no progress bar when stderr is not a terminal');

  const json = JSON.parse(await readFile(`${dir}/r.json`, 'utf8')) as BenchResult;
  t.equal(json.tool, 'infernode-bench');
  t.same(json.points.map((p) => p.requests), [{ total: 10, succeeded: 8, failed: 2 }, { total: 10, succeeded: 8, failed: 2 }]);
  t.equal(json.points.reduce((n, p) => n + p.totals.outputTokens, 0), fake.counts.tokensServed);
  t.notMatch(JSON.stringify(json), /sekrit/, 'the token is not written');

  const [header, ...rows] = (await readFile(`${dir}/r.csv`, 'utf8')).trimEnd().split('\n');
  const columns = header?.split(',') ?? [];
  t.equal(rows.length, 2);
  for (const row of rows) t.equal(row.split(',').length, columns.length);
  const cell = (row: string | undefined, name: string) => row?.split(',')[columns.indexOf(name)];
  t.equal(cell(rows[1], 'label'), 'c=2');
  t.equal(cell(rows[1], 'failed'), '2');
  t.equal(cell(rows[1], 'errors'), 'http_429=2');
  t.equal(cell(rows[0], 'output_tokens'), String(json.points[0]?.totals.outputTokens));
  t.equal(Number(cell(rows[0], 'ttft_p99_s')), json.points[0]?.latencyS.ttft?.p99);

  const svg = await readFile(`${dir}/r.svg`, 'utf8');
  t.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  for (const stat of ['p50', 'p90', 'p99']) {
    const lines = [...svg.matchAll(new RegExp(`class="series-${stat}"[^>]*points="([^"]*)"`, 'g'))];
    t.equal(lines.length, 3, `${stat}: one line in each of the e2e, TTFT and inter-token panels`);
    t.equal(lines[0]?.[1]?.split(' ').length, 2, 'one vertex per point of the sweep');
  }
  t.match(svg, /saturated: the node answered 429/);
  const meta = await sharp(Buffer.from(svg)).metadata();
  t.equal(meta.format, 'svg', 'the SVG parses and renders without any other tool');
});

t.test('when jobs end before their event stream connects, the table keeps the token latencies with n, and warns', async (t) => {
  const fake = await startFakeNode({ endBeforeStreamEvery: 1 });
  t.teardown(() => fake.close());
  const dir = t.testdir();
  const run = await bench(['--url', fake.url, '--type', 'chat', '--model', 'm', '--requests', '3', '--warmup', '0', '--csv', `${dir}/r.csv`, '--json', `${dir}/r.json`]);
  t.equal(run.code, 0);
  t.match(run.stdout, /TTFT ms p50\/p90\/p99 \(n\)\s+ITL ms p50\/p90\/p99 \(n\)\s+TPOT ms p50\/p90\/p99 \(n\)/);
  t.match(run.stdout, /c=1 .*- \(0\)\s+- \(0\)\s+- \(0\)/);
  t.match(run.stdout, /\nwarning: c=1: of 3 successful requests, TTFT covers 0, ITL covers 0, TPOT covers 0: a job that ended before its event stream connected/);
  const [header, row] = (await readFile(`${dir}/r.csv`, 'utf8')).trimEnd().split('\n');
  const cell = (name: string) => row?.split(',')[header?.split(',').indexOf(name) ?? -1];
  t.same([cell('succeeded'), cell('ttft_n'), cell('interToken_n'), cell('timePerOutputToken_n')], ['3', '0', '0', '0']);
  const json = JSON.parse(await readFile(`${dir}/r.json`, 'utf8')) as BenchResult;
  t.same(json.points[0]?.latencyN, { ttft: 0, interToken: 0, timePerOutputToken: 0 });
});

t.test('a chat run whose every request streamed its tokens prints no coverage warning', async (t) => {
  const fake = await startFakeNode();
  t.teardown(() => fake.close());
  const run = await bench(['--url', fake.url, '--type', 'chat', '--model', 'm', '--requests', '3', '--warmup', '0', '--max-tokens', '3']);
  t.equal(run.code, 0);
  t.match(run.stdout, /c=1 .* \(3\)\s+.* \(3\)\s+.* \(3\)/);
  t.notMatch(run.stdout, /warning/);
});

t.test('the JSON config holds every setting that shaped the load', async (t) => {
  const fake = await startFakeNode();
  t.teardown(() => fake.close());
  const dir = t.testdir();
  const run = await bench(['--url', fake.url, '--type', 'chat', '--model', 'm', '--requests', '1', '--warmup', '0', '--max-tokens', '2', '--ignore-eos', '--timeout', '20s', '--json', `${dir}/r.json`]);
  t.equal(run.code, 0);
  const { config } = JSON.parse(await readFile(`${dir}/r.json`, 'utf8')) as BenchResult;
  t.match(config, { maxTokens: 2, ignoreEos: true, timeoutS: 20, metricsUrl: `${fake.url}/metrics` });
});

t.test('--plot with .html embeds the SVG and the table in one page', async (t) => {
  const fake = await startFakeNode();
  t.teardown(() => fake.close());
  const dir = t.testdir();
  const run = await bench(['--url', fake.url, '--type', 'tensor', '--model', 'x', '--requests', '3', '--warmup', '0', '--plot', `${dir}/r.html`]);
  t.equal(run.code, 0);
  const html = await readFile(`${dir}/r.html`, 'utf8');
  t.match(html, /^<!doctype html>/);
  t.match(html, /<svg xmlns/);
  t.match(html, /<pre>infernode bench: tensor x/);
});

t.test('a point where every request failed makes the exit code 1, with the errors shown', async (t) => {
  const fake = await startFakeNode({ rejectEvery: 1 });
  t.teardown(() => fake.close());
  const run = await bench(['--url', fake.url, '--type', 'image', '--model', 'x', '--requests', '4', '--warmup', '0']);
  t.equal(run.code, 1);
  t.match(run.stdout, /c=1 errors: http_429=4/);
  t.match(run.stdout, /0\/4/);
});

function point(label: string, requestsPerS: number, e2eP50: number): PointResult {
  const e2e = { count: 10, mean: e2eP50, p50: e2eP50, p90: e2eP50, p99: e2eP50 * 2 };
  return {
    label, load: { mode: 'concurrency', value: Number(label.slice(2)) }, durationS: 1,
    requests: { total: 10, succeeded: 10, failed: 0 }, errors: {}, saturated: false,
    throughput: { requestsPerS, outputTokensPerS: null, stepsPerS: null }, totals: { outputTokens: 0, steps: 0 },
    latencyS: { e2e, ttft: null, interToken: null, timePerOutputToken: null, queue: null, run: null }, latencyN: null, node: null,
  };
}

function result(points: PointResult[], workload: Pick<BenchResult['config'], 'type' | 'model'> = { type: 'tensor', model: 'x' }): BenchResult {
  return {
    tool: 'infernode-bench', version: 1, startedAt: '2026-11-29T06:00:00.000Z',
    config: {
      url: 'http://127.0.0.1:8080/', ...workload, api: 'infernode', durationS: 10, requests: null, warmup: 1, inputs: 'built-in',
      maxTokens: null, ignoreEos: false, timeoutS: 300, seed: 1, metricsUrl: 'http://127.0.0.1:8080/metrics',
    },
    warmup: { requests: 1, failed: 0 }, points, interrupted: false,
  };
}

t.test('--compare prints B/A for each figure of the points both runs share', async (t) => {
  const dir = t.testdir();
  await writeFile(`${dir}/a.json`, JSON.stringify(result([point('c=1', 10, 0.1), point('c=8', 40, 0.2)])));
  await writeFile(`${dir}/b.json`, JSON.stringify(result([point('c=1', 20, 0.05), point('c=32', 50, 0.5)])));
  const run = await bench(['--compare', `${dir}/a.json`, `${dir}/b.json`]);
  t.equal(run.code, 0);
  t.match(run.stdout, /point c=1\s+A\s+B\s+B\/A/);
  t.match(run.stdout, /req\/s\s+10\s+20\s+2\.000\n/);
  t.match(run.stdout, /e2e p50 s\s+0\.100\s+0\.0500\s+0\.500\n/);
  t.match(run.stdout, /errors\s+0\s+0\s+1\.000/);
  t.match(run.stdout, /only in A: c=8/);
  t.match(run.stdout, /only in B: c=32/);
  t.notMatch(run.stdout, /warning/, 'same type and model');
});

t.test('--compare warns when the runs differ in type or model', async (t) => {
  const dir = t.testdir();
  await writeFile(`${dir}/a.json`, JSON.stringify(result([point('c=1', 10, 0.1)])));
  await writeFile(`${dir}/b.json`, JSON.stringify(result([point('c=1', 20, 0.05)], { type: 'chat', model: 'tiny-chat' })));
  const run = await bench(['--compare', `${dir}/a.json`, `${dir}/b.json`]);
  t.equal(run.code, 0);
  t.match(run.stdout, /\nwarning: A and B differ in type \(tensor vs chat\) and model \(x vs tiny-chat\)/);
  t.match(run.stdout, /req\/s\s+10\s+20\s+2\.000\n/, 'the ratios are still printed');
});

t.test('--compare refuses a file that is not a bench result, naming it', async (t) => {
  const dir = t.testdir({ 'a.json': '{"hello": 1}', 'b.json': '{}' });
  const run = await bench(['--compare', `${dir}/a.json`, `${dir}/b.json`]);
  t.equal(run.code, 2);
  t.match(run.stderr, /a\.json is not an infernode bench --json file/);
});

const BAD_ARGS: [string, string[], RegExp][] = [
  ['no --url', ['--type', 'chat', '--model', 'm'], /--url: required/],
  ['an unknown type', ['--url', 'http://127.0.0.1:1', '--type', 'audio', '--model', 'm'], /--type: expected one of chat, image, video, tensor/],
  ['video over the OpenAI API', ['--url', 'http://127.0.0.1:1', '--type', 'video', '--model', 'm', '--api', 'openai'], /--api: the OpenAI API has no video route/],
  ['a zero concurrency', ['--url', 'http://127.0.0.1:1', '--type', 'chat', '--model', 'm', '--concurrency', '1,0'], /--concurrency: expected a comma list of positive integers/],
  ['both a rate and a concurrency', ['--url', 'http://127.0.0.1:1', '--type', 'chat', '--model', 'm', '--concurrency', '1', '--rate', '2'], /--rate: give either/],
  ['a plot that is neither SVG nor HTML', ['--url', 'http://127.0.0.1:1', '--type', 'chat', '--model', 'm', '--plot', 'x.png'], /--plot: expected a file ending in \.svg or \.html/],
  ['a bad duration', ['--url', 'http://127.0.0.1:1', '--type', 'chat', '--model', 'm', '--duration', 'soon'], /--duration: expected a duration/],
  ['a timeout over the largest timeout_s a node takes', ['--url', 'http://127.0.0.1:1', '--type', 'chat', '--model', 'm', '--timeout', '2h'], /--timeout: at most 3600s for chat jobs: a node refuses a timeout_s over its --max-timeout/],
  ['an unknown flag', ['--url', 'http://127.0.0.1:1', '--bogus'], /Unknown option '--bogus'/],
];

for (const [what, argv, message] of BAD_ARGS) {
  t.test(`${what} is a usage error (exit 2) naming the flag`, async (t) => {
    const run = await bench(argv);
    t.equal(run.code, 2);
    t.match(run.stderr, message);
    t.equal(run.stdout, '');
  });
}

t.test('an --inputs line that is not a JSON object is refused with its line number', async (t) => {
  const dir = t.testdir({ 'in.jsonl': '{"prompt": "a"}\n\n[1, 2]\n' });
  const run = await bench(['--url', 'http://127.0.0.1:1', '--type', 'image', '--model', 'm', '--inputs', `${dir}/in.jsonl`]);
  t.equal(run.code, 2);
  t.match(run.stderr, /in\.jsonl line 3 must be a JSON object/);
});

t.test('a tensor run against a node that does not answer is refused, naming --url', async (t) => {
  const fake = await startFakeNode();
  const { url } = fake;
  await fake.close();
  const run = await bench(['--url', url, '--type', 'tensor', '--model', 'x']);
  t.equal(run.code, 2);
  t.match(run.stderr, /--url: cannot read the model metadata \(network:ECONNREFUSED\)/);
});

t.test('an output file that cannot be written is refused before any load is sent, naming its flag', async (t) => {
  const fake = await startFakeNode();
  t.teardown(() => fake.close());
  const dir = t.testdir({ 'a-folder': {} });
  for (const [flag, path, code] of [['csv', '/nonexistent-dir/r.csv', 'ENOENT'], ['json', `${dir}/a-folder`, 'EISDIR']] as const) {
    const run = await bench(['--url', fake.url, '--type', 'tensor', '--model', 'x', '--requests', '1', '--warmup', '0', `--${flag}`, path]);
    t.equal(run.code, 2);
    t.equal(run.stdout, '', 'no sweep, no table');
    t.equal(run.stderr, `infernode bench: --${flag}: cannot write ${path} (${code})\n`);
  }
  t.equal(fake.counts.infers, 0);
});
