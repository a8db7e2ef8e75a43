// Issue 4's figures, side by side in one run, on tiny-sd at 512×512, 4 steps, guidance on:
//  1. end-to-end job latency (HTTP → queue → executor → media pool → scratch) vs the bare onnxruntime-node runs of
//     the same graphs plus a sharp PNG encode;
//  2. GET /healthz p99 while 4 image jobs run;
//  3. throughput of 4 concurrent n=1 jobs vs one n=4 job;
// and where an end-to-end job's time goes (ONNX Runtime runs, the rest of its run, queue, HTTP), from the node's
// own /metrics, so that anyone can see which side of the node a shortfall of figure 1 lies on.
// The node runs in a child process (`infernode serve`), so the client's work never shares its main thread.
// Every latency run makes the same picture (seed 1). Run: npm run build && node dist/bench/image-latency.js
import path from 'node:path';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { request } from 'undici';
import { parsePrometheusText, sumSamples } from '../src/loadgen/prometheus-text.js';
import { PNG_COMPRESSION_LEVEL } from '../src/media/media-protocol.js';
import { MediaPool } from '../src/media/pool.js';
import { loadClipTokenizer } from '../src/pipelines/diffusion/clip-tokenizer.js';
import type { ExecutorModel, RunContext } from '../src/pipelines/executor-types.js';
import { loadImageModel } from '../src/pipelines/image/executor-model.js';
import type { ImagePayload, ImageResult } from '../src/pipelines/image/protocol.js';
import { detectModel } from '../src/runtime/model-catalog.js';
import { createSessionFactory } from '../src/runtime/session-factory.js';
import { spawnDaemon } from './lib/daemon-process.js';
import { CPU, benchModels, fmt, healthzUnderLoad, machine, median, p50, p99, repeat, waitReady } from './lib/measure.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const SIZE = 512;
const STEPS = 4;
const GUIDANCE = 7.5;
const IDLE_MS = 60;
const WARM_RUNS = 3;
type Measure = 'bareSharp' | 'bareNode' | 'pipeline' | 'e2e';
type Condition = 'hot' | 'idle';
const emptyTimes = (): Record<Measure, number[]> => ({ bareSharp: [], bareNode: [], pipeline: [], e2e: [] });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const input = (n: number, seed: number) => ({ prompt: 'a red square', width: SIZE, height: SIZE, steps: STEPS, guidance_scale: GUIDANCE, n, seed });

/** The node as `infernode serve` runs it, in its own process so the client never shares its main thread. */
async function startNode(modelsDir: string): Promise<{ url: string; stop: () => void }> {
  const daemon = await spawnDaemon(['--models-dir', modelsDir, '--device', 'cpu', '--log-level', 'warn']);
  await waitReady(daemon.url);
  return { url: daemon.url, stop: () => daemon.child.kill('SIGTERM') };
}

/** One job with `Prefer: wait`; undici's request rather than fetch, whose own cost (a millisecond or two) is the client's. */
async function job(url: string, body: unknown): Promise<number> {
  const t0 = performance.now();
  const res = await request(`${url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'wait=120' }, body: JSON.stringify({ type: 'image', model: 'tiny-sd', input: body }) });
  const view = (await res.body.json()) as { status: string };
  if (view.status !== 'succeeded') throw new Error(`job ended ${view.status}`);
  return performance.now() - t0;
}

/** The node's own account of its image jobs so far: counts and sums of its /metrics histograms, in ms. */
async function nodeTimes(url: string): Promise<{ jobs: number; runMs: number; queueMs: number; modelMs: number }> {
  const samples = parsePrometheusText(await (await request(`${url}/metrics`)).body.text());
  const sum = (name: string, labels: Record<string, string> = {}): number => sumSamples(samples, name, labels) ?? 0;
  const image = { type: 'image', model: 'tiny-sd' };
  return {
    jobs: sum('infernode_job_run_seconds_count', image),
    runMs: 1000 * sum('infernode_job_run_seconds_sum', image),
    queueMs: 1000 * sum('infernode_job_queue_seconds_sum', image),
    modelMs: 1000 * sum('infernode_model_run_seconds_sum', { model: 'tiny-sd' }),
  };
}

/**
 * The same graph runs as a job (text encoder on the guidance pair, 4 guided UNet steps, VAE decode) and a PNG
 * encode of the image the job makes (`image`: PNG time depends on the pixels, so it must be the same picture), with
 * `png`: sharp's own default, or the node's zlib level.
 */
async function bareRuns(modelDir: string, image: Uint8Array, png: sharp.PngOptions): Promise<() => Promise<number>> {
  const open = (graph: string) => createSessionFactory(CPU).create(path.join(modelDir, graph, 'model.onnx'));
  const [textEncoder, unet, decoder] = await Promise.all([open('text_encoder'), open('unet'), open('vae_decoder')]);
  const tokenizer = await loadClipTokenizer(path.join(modelDir, 'tokenizer'));
  const ids = Int32Array.from([...tokenizer.encode('').ids, ...tokenizer.encode('a red square').ids]);
  const latent = SIZE / 8;
  const sample = new Float32Array(2 * 4 * latent * latent).fill(0.1);
  return async () => {
    const t0 = performance.now();
    const hidden = (await textEncoder.run({ input_ids: new ort.Tensor('int32', ids, [2, 77]) })).last_hidden_state!;
    for (let step = 0; step < STEPS; step++) {
      await unet.run({ sample: new ort.Tensor('float32', sample, [2, 4, latent, latent]), timestep: new ort.Tensor('int64', BigInt64Array.of(999n), [1]), encoder_hidden_states: hidden });
    }
    await decoder.run({ latent_sample: new ort.Tensor('float32', sample.subarray(0, 4 * latent * latent), [1, 4, latent, latent]) });
    await sharp(image, { raw: { width: SIZE, height: SIZE, channels: 3 } }).png(png).toBuffer();
    return performance.now() - t0;
  };
}

/** The pipeline without the node: the executor model in this thread, then the media pool's PNG encode. */
async function pipelineRuns(modelDir: string): Promise<{ run: () => Promise<number>; image: () => Promise<Uint8Array>; close: () => Promise<void> }> {
  const model = (await loadImageModel(await detectModel(modelDir), createSessionFactory(CPU))) as ExecutorModel<ImagePayload, ImageResult>;
  const media = new MediaPool({ threads: 1 });
  const ctx: RunContext = { jobId: 'bench', cancelled: () => false, throwIfCancelled: () => {}, emit: () => {}, observeRun: () => {}, observeBatch: () => {} };
  const payload: ImagePayload = { prompt: 'a red square', negativePrompt: '', width: SIZE, height: SIZE, steps: STEPS, guidanceScale: GUIDANCE, scheduler: 'euler', seed: 1, n: 1, init: null };
  return {
    image: async () => {
      const { result, release } = await model.run(payload, ctx);
      release?.();
      return result.images[0]!;
    },
    run: async () => {
      const t0 = performance.now();
      const { result, release } = await model.run(payload, ctx);
      await media.encodeImage(result.images[0]!, SIZE, SIZE, 'png');
      const ms = performance.now() - t0;
      // as the executor does, once the result is on its way
      release?.();
      return ms;
    },
    close: async () => {
      await model.dispose();
      await media.destroy();
    },
  };
}

async function main(): Promise<void> {
  const modelsDir = await benchModels(['tiny-sd']);
  const node = await startNode(modelsDir);
  try {
    const pipeline = await pipelineRuns(path.join(modelsDir, 'tiny-sd'));
    const image = await pipeline.image();
    // every e2e job of the rounds below, measured or not, for the split of their time
    const e2eAll: number[] = [];
    const measures: Record<Measure, () => Promise<number>> = {
      bareSharp: await bareRuns(path.join(modelsDir, 'tiny-sd'), image, {}),
      bareNode: await bareRuns(path.join(modelsDir, 'tiny-sd'), image, { compressionLevel: PNG_COMPRESSION_LEVEL }),
      pipeline: pipeline.run,
      e2e: async () => {
        const ms = await job(node.url, input(1, 1));
        e2eAll.push(ms);
        return ms;
      },
    };
    const names = Object.keys(measures) as Measure[];
    for (let i = 0; i < 3; i++) for (const name of names) await measures[name]();
    // Two conditions, each the same for every side. Back to back: a measured run follows WARM_RUNS unmeasured ones
    // of its own kind, as under steady traffic (on a VM one was not enough: after the client's own busy work the
    // node's next two jobs still paid for waking its threads' vCPU, bench/RESULTS.md, ninth session). After an idle pause: the whole client sleeps first, and on a VM a thread
    // that has slept takes milliseconds to wake, which a bare loop pays once and a node at every thread hand-off.
    // The order rotates from round to round so that no side always follows the same one.
    const times: Record<Condition, Record<Measure, number[]>> = { hot: emptyTimes(), idle: emptyTimes() };
    e2eAll.length = 0;
    const before = await nodeTimes(node.url);
    await repeat(RUNS, async (run) => {
      for (let k = 0; k < names.length; k++) {
        const name = names[(run + k) % names.length]!;
        for (let w = 0; w < WARM_RUNS; w++) await measures[name]();
        times.hot[name].push(await measures[name]());
        await sleep(IDLE_MS);
        times.idle[name].push(await measures[name]());
      }
    });
    const after = await nodeTimes(node.url);
    await pipeline.close();
    const imageJob = (c: number, i: number) => job(node.url, input(1, c * 1000 + i));
    const idle = await healthzUnderLoad(node.url, imageJob, 0, 4);
    // three 8 s windows: a p99 of about a thousand probes rests on its ten slowest, so one window is noisy
    const loaded = await repeat(3, () => healthzUnderLoad(node.url, imageJob, 4, 8));
    const concurrent = await repeat(Math.max(3, RUNS >> 1), async (run) => {
      const t0 = performance.now();
      await Promise.all([0, 1, 2, 3].map((i) => job(node.url, input(1, run * 10 + i))));
      return performance.now() - t0;
    });
    const batched = await repeat(Math.max(3, RUNS >> 1), async (run) => job(node.url, input(4, run * 10)));

    const med = (condition: Condition, name: Measure) => median(times[condition][name]);
    const row = (label: string, name: Measure) => console.log(`  ${label.padEnd(44)} ${fmt(med('hot', name), 1).padStart(7)} ms ${fmt(med('idle', name), 1).padStart(15)} ms`);
    const ratio = (label: string, name: Measure, bare: Measure) =>
      console.log(`  ${label.padEnd(44)} ${fmt(med('hot', name) / med('hot', bare)).padStart(7)} × ${fmt(med('idle', name) / med('idle', bare)).padStart(15)} ×`);
    console.log(`image-latency: tiny-sd ${SIZE}×${SIZE}, ${STEPS} steps, guidance ${GUIDANCE}; ${machine()}; medians of ${RUNS} runs`);
    console.log(`  ${''.padEnd(44)} ${'back to back'.padStart(10)} ${`after ${IDLE_MS} ms idle`.padStart(18)}`);
    row('bare ORT runs + PNG at sharp\'s default (6)', 'bareSharp');
    row(`bare ORT runs + PNG at the node's level (${PNG_COMPRESSION_LEVEL})`, 'bareNode');
    row('pipeline in-process + pool encode', 'pipeline');
    row('end-to-end job (Prefer: wait)', 'e2e');
    ratio('end-to-end / bare at sharp\'s default', 'e2e', 'bareSharp');
    ratio('end-to-end / bare at the node\'s level', 'e2e', 'bareNode');
    ratio('pipeline in-process / bare at the node\'s level', 'pipeline', 'bareNode');
    console.log(`  (target: end-to-end ≤ 1.10 × the bare runs + a sharp PNG encode)`);
    // Means, as histogram sums allow.
    const jobs = after.jobs - before.jobs;
    const per = (key: 'runMs' | 'queueMs' | 'modelMs') => (after[key] - before[key]) / jobs;
    const e2eMean = e2eAll.reduce((a, b) => a + b, 0) / e2eAll.length;
    const split = (label: string, ms: number, note = '') => console.log(`    ${label.padEnd(42)} ${fmt(ms).padStart(6)} ms${note}`);
    console.log(`  where an end-to-end job's time goes: means over the ${jobs} jobs above (${e2eAll.length} sent), from the node's /metrics`);
    split('ONNX Runtime session runs', per('modelMs'));
    split("the rest of the job's run", per('runMs') - per('modelMs'), "   (the node's math, pool encode + seal, thread hand-offs)");
    split('queue', per('queueMs'));
    split('HTTP and admission', e2eMean - per('runMs') - per('queueMs'), `   (the client's mean, ${fmt(e2eMean)} ms, less run and queue)`);
    console.log(`  /healthz, node idle                p50 ${fmt(p50(idle.latencies))} ms, p99 ${fmt(p99(idle.latencies))} ms over ${idle.latencies.length} probes`);
    const p99s = loaded.map((w) => p99(w.latencies));
    console.log(
      `  /healthz while 4 image jobs run    p50 ${fmt(median(loaded.map((w) => p50(w.latencies))))} ms, p99 ${fmt(median(p99s))} ms (median of 3 windows: ${p99s.map((v) => fmt(v)).join(', ')}),` +
        ` ${loaded.reduce((n, w) => n + w.latencies.length, 0)} probes, ${loaded.reduce((n, w) => n + w.loads, 0)} jobs (target p99 ≤ 10 ms)`,
    );
    const concurrentIps = 4000 / median(concurrent);
    const batchedIps = 4000 / median(batched);
    console.log(`  4 concurrent n=1 jobs              ${fmt(median(concurrent), 1)} ms   ${fmt(concurrentIps)} images/s`);
    console.log(`  one n=4 job                        ${fmt(median(batched), 1)} ms   ${fmt(batchedIps)} images/s   (${fmt(batchedIps / concurrentIps)} × the concurrent jobs)`);
  } finally {
    node.stop();
  }
}

await main();
