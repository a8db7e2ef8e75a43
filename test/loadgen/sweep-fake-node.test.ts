import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { parseBenchArgs, type RunOptions } from '../../src/loadgen/options.js';
import { runSweep } from '../../src/loadgen/sweep.js';
import { type FakeNode, type FakeNodeOptions, startFakeNode } from './fake-node.js';

function optionsFor(url: string, args: string[]): RunOptions {
  const command = parseBenchArgs(['--url', url, '--warmup', '0', ...args], {});
  if (command.kind !== 'run') throw new Error('expected a run');
  return command.options;
}

async function withFake(t: { teardown(fn: () => unknown): void }, fakeOptions: FakeNodeOptions, body: (fake: FakeNode) => Promise<void>): Promise<void> {
  const fake = await startFakeNode(fakeOptions);
  t.teardown(() => fake.close());
  await body(fake);
}

t.test('chat through jobs and SSE: token, request and latency counts match what the node served', async (t) => {
  await withFake(t, { token: 'secret' }, async (fake) => {
    const result = await runSweep(optionsFor(fake.url, ['--token', 'secret', '--type', 'chat', '--model', 'tiny-chat', '--concurrency', '1,4', '--requests', '12', '--max-tokens', '7']));
    t.equal(result.points.length, 2);
    for (const p of result.points) {
      t.same(p.requests, { total: 12, succeeded: 12, failed: 0 }, p.label);
      t.equal(p.totals.outputTokens, 12 * 7);
      t.equal(p.latencyS.ttft?.count, 12, 'one time to first token per request');
      t.equal(p.latencyS.interToken?.count, 12 * 6, 'one gap between each pair of tokens');
      t.equal(p.latencyS.timePerOutputToken?.count, 12);
      t.same(p.latencyN, { ttft: 12, interToken: 12, timePerOutputToken: 12 }, 'n: every request streamed its tokens');
      t.equal(p.latencyS.queue?.p50, 0.25, 'queue time is the job timing the node reported');
      t.equal(p.latencyS.run?.p99, 0.5);
      t.ok((p.throughput.outputTokensPerS ?? 0) > 0);
      t.equal(p.throughput.stepsPerS, null);
      t.equal(p.saturated, false);
    }
    t.equal(fake.counts.jobsSucceeded, 24);
    t.equal(fake.counts.tokensServed, 24 * 7);
  });
});

t.test('chat jobs that ended before their event stream connected are left out of TTFT, ITL and TPOT, and n says how many are in', async (t) => {
  await withFake(t, { endBeforeStreamEvery: 3 }, async (fake) => {
    const result = await runSweep(optionsFor(fake.url, ['--type', 'chat', '--model', 'm', '--requests', '9', '--max-tokens', '4']));
    const [p] = result.points;
    t.same(p?.requests, { total: 9, succeeded: 9, failed: 0 }, 'a job whose stream replayed only done still succeeded');
    t.equal(p?.totals.outputTokens, 9 * 4, 'its tokens are counted from the usage of done');
    t.same(p?.latencyN, { ttft: 6, interToken: 6, timePerOutputToken: 6 });
    t.equal(p?.latencyS.ttft?.count, 6);
  });
});

t.test('image points have no token latencies, hence no n', async (t) => {
  await withFake(t, {}, async (fake) => {
    const result = await runSweep(optionsFor(fake.url, ['--type', 'image', '--model', 'm', '--requests', '2']));
    t.equal(result.points[0]?.latencyN, null);
  });
});

t.test('every 429 is counted as an error and marks the point saturated', async (t) => {
  await withFake(t, { rejectEvery: 3 }, async (fake) => {
    const result = await runSweep(optionsFor(fake.url, ['--type', 'chat', '--model', 'm', '--concurrency', '2', '--requests', '30', '--max-tokens', '2']));
    const [p] = result.points;
    t.equal(fake.counts.rejected, 10);
    t.same(p?.errors, { http_429: 10 });
    t.same(p?.requests, { total: 30, succeeded: 20, failed: 10 });
    t.equal(p?.totals.outputTokens, fake.counts.tokensServed);
    t.equal(p?.saturated, true);
  });
});

t.test('failed jobs and timed-out requests are counted by kind, and timed-out jobs are canceled', async (t) => {
  await withFake(t, { failEvery: 4, hangEvery: 5 }, async (fake) => {
    const result = await runSweep(optionsFor(fake.url, ['--type', 'chat', '--model', 'm', '--concurrency', '5', '--requests', '20', '--max-tokens', '3', '--timeout', '2s']));
    const [p] = result.points;
    t.same(p?.errors, { 'job_failed:internal': 4, timeout: 4 }, 'jobs 4, 8, 12 and 16 fail; 5, 10, 15 and 20 hang');
    t.equal(p?.requests.succeeded, 12);
    t.equal(p?.totals.outputTokens, 12 * 3);
    t.equal(p?.saturated, false);
    t.equal(fake.counts.canceled, 4, 'each abandoned job got a DELETE before the point ended');
  });
});

t.test('image jobs report steps from the job, and steps per second', async (t) => {
  await withFake(t, {}, async (fake) => {
    const result = await runSweep(optionsFor(fake.url, ['--type', 'image', '--model', 'tiny-sd', '--concurrency', '3', '--requests', '9']));
    const [p] = result.points;
    t.equal(p?.requests.succeeded, 9);
    t.equal(p?.totals.steps, fake.counts.stepsServed);
    t.equal(p?.totals.steps, 9 * 8, 'built-in image inputs ask for 8 steps');
    t.ok((p?.throughput.stepsPerS ?? 0) > 0);
    t.equal(p?.throughput.outputTokensPerS, null);
    t.equal(p?.latencyS.ttft, null);
  });
});

t.test('video jobs count denoising steps only, not the frames encoded after them', async (t) => {
  await withFake(t, {}, async (fake) => {
    const result = await runSweep(optionsFor(fake.url, ['--type', 'video', '--model', 'tiny-video', '--requests', '3']));
    t.equal(result.points[0]?.totals.steps, 3 * 4, 'built-in video inputs ask for 4 steps');
    t.equal(result.points[0]?.totals.steps, fake.counts.stepsServed);
  });
});

t.test('OpenAI chat streaming counts tokens from the usage chunk and times each content chunk', async (t) => {
  await withFake(t, {}, async (fake) => {
    const result = await runSweep(optionsFor(fake.url, ['--api', 'openai', '--type', 'chat', '--model', 'm', '--concurrency', '2', '--requests', '6', '--max-tokens', '4']));
    const [p] = result.points;
    t.equal(fake.counts.chatCompletions, 6);
    t.equal(p?.totals.outputTokens, fake.counts.tokensServed);
    t.equal(p?.latencyS.interToken?.count, 6 * 3);
    t.equal(p?.latencyS.queue, null, 'OpenAI routes report no job timings');
  });
});

t.test('OpenAI image generations are sent and counted', async (t) => {
  await withFake(t, {}, async (fake) => {
    const result = await runSweep(optionsFor(fake.url, ['--api', 'openai', '--type', 'image', '--model', 'm', '--requests', '4']));
    t.equal(fake.counts.images, 4);
    t.equal(result.points[0]?.requests.succeeded, 4);
    t.equal(result.points[0]?.throughput.stepsPerS, null, 'the OpenAI API does not say how many steps ran');
  });
});

t.test('an OpenAI image answered 200 with a body that is not JSON is a bad_response, not a success', async (t) => {
  await withFake(t, { notJsonAnswers: true }, async (fake) => {
    const result = await runSweep(optionsFor(fake.url, ['--api', 'openai', '--type', 'image', '--model', 'm', '--requests', '3']));
    t.same(result.points[0]?.errors, { bad_response: 3 });
    t.equal(result.points[0]?.requests.succeeded, 0);
  });
});

t.test('a tensor inference answered 200 with a body that is not JSON is a bad_response, not a success', async (t) => {
  await withFake(t, { notJsonAnswers: true }, async (fake) => {
    const result = await runSweep(optionsFor(fake.url, ['--type', 'tensor', '--model', 'x', '--concurrency', '2', '--requests', '4']));
    t.same(result.points[0]?.errors, { bad_response: 4 });
    t.equal(fake.counts.infers, 4);
  });
});

t.test('tensor requests go to the KServe infer route with inputs shaped from the model metadata', async (t) => {
  await withFake(t, {}, async (fake) => {
    const result = await runSweep(optionsFor(fake.url, ['--type', 'tensor', '--model', 'tiny-tensor', '--concurrency', '4', '--requests', '40']));
    t.equal(fake.counts.infers, 40);
    t.same(result.points[0]?.requests, { total: 40, succeeded: 40, failed: 0 });
  });
});

t.test('an open-loop rate sends exactly the requested number of arrivals', async (t) => {
  await withFake(t, {}, async (fake) => {
    const result = await runSweep(optionsFor(fake.url, ['--type', 'tensor', '--model', 'x', '--rate', '200,400', '--requests', '25']));
    t.same(result.points.map((p) => p.label), ['200/s', '400/s']);
    t.same(result.points.map((p) => p.requests.succeeded), [25, 25]);
    t.equal(fake.counts.infers, 50);
  });
});

t.test('warm-up requests are sent first and left out of the figures', async (t) => {
  await withFake(t, {}, async (fake) => {
    const result = await runSweep({ ...optionsFor(fake.url, ['--type', 'tensor', '--model', 'x', '--requests', '5']), warmup: 3 });
    t.same(result.warmup, { requests: 3, failed: 0 });
    t.equal(result.points[0]?.requests.total, 5);
    t.equal(fake.counts.infers, 8);
  });
});

t.test('the node queue depth and GPU gauges are scraped from /metrics during the point', async (t) => {
  await withFake(t, { queued: 3, gpu: true, token: 'k' }, async (fake) => {
    const result = await runSweep(optionsFor(fake.url, ['--token', 'k', '--type', 'tensor', '--model', 'x', '--requests', '3']));
    const node = result.points[0]?.node;
    t.ok((node?.scrapes ?? 0) >= 2, 'scraped at the start and the end at least');
    t.equal(node?.scrapeErrors, 0);
    t.same(node?.queueDepth, { mean: 3, max: 3 });
    t.ok(Math.abs((node?.gpuUtilization?.mean ?? 0) - 0.6) < 1e-9, 'utilization is the mean over GPUs');
    t.same(node?.gpuMemoryUsedBytes, { mean: 3000, max: 3000 }, 'memory is the sum over GPUs');
  });
});

t.test('the token is sent to a --metrics-url on another origin never, only to the node', async (t) => {
  const authorizations: (string | undefined)[] = [];
  const exporter = createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    res.end('infernode_jobs_queued{device="cpu"} 1\n');
  });
  await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    exporter.closeAllConnections();
    return new Promise((resolve) => exporter.close(resolve));
  });
  const metricsUrl = `http://127.0.0.1:${(exporter.address() as AddressInfo).port}/metrics`;
  await withFake(t, { token: 'k' }, async (fake) => {
    const result = await runSweep(optionsFor(fake.url, ['--token', 'k', '--type', 'tensor', '--model', 'x', '--requests', '2', '--metrics-url', metricsUrl]));
    t.equal(result.points[0]?.requests.succeeded, 2, 'the node itself got the token');
    t.ok(authorizations.length >= 2, 'the exporter was scraped');
    t.same(new Set(authorizations), new Set([undefined]), 'without an authorization header');
  });
});

t.test('a node without /metrics still benchmarks, with the failed scrapes counted', async (t) => {
  await withFake(t, {}, async (fake) => {
    const result = await runSweep(optionsFor(fake.url, ['--type', 'tensor', '--model', 'x', '--requests', '2', '--metrics-url', `${fake.url}/nowhere`]));
    const node = result.points[0]?.node;
    t.equal(node?.scrapes, 0);
    t.ok((node?.scrapeErrors ?? 0) >= 2);
    t.equal(node?.queueDepth, null);
    t.equal(result.points[0]?.requests.succeeded, 2);
  });
});

t.test('an unreachable node yields network errors, not a crash', async (t) => {
  const fake = await startFakeNode();
  const { url } = fake;
  await fake.close();
  const dir = t.testdir({ 'tensor.jsonl': '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1,2]}]}\n' });
  const result = await runSweep(optionsFor(url, ['--type', 'tensor', '--model', 'x', '--requests', '3', '--no-metrics', '--inputs', `${dir}/tensor.jsonl`]));
  t.same(result.points[0]?.errors, { 'network:ECONNREFUSED': 3 });
});

t.test('a stop signal ends the sweep after the requests already sent, and marks the run interrupted', async (t) => {
  await withFake(t, {}, async (fake) => {
    const stop = new AbortController();
    let seen = 0;
    const result = await runSweep(optionsFor(fake.url, ['--type', 'tensor', '--model', 'x', '--concurrency', '1,2', '--requests', '100']), {
      onRecord: () => {
        if (++seen === 5) stop.abort();
      },
    }, stop.signal);
    t.equal(result.interrupted, true);
    t.equal(result.points.length, 1, 'the second point never starts');
    t.same(result.points[0]?.requests, { total: 5, succeeded: 5, failed: 0 });
  });
});
