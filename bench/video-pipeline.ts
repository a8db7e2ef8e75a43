// Video pipeline on tiny-video, in-process (job handler → executor model → media pool → ffmpeg, no executor
// thread hop): (1) 16 frames 256×256, 4 steps: the split of time (denoise, VAE decode, RGB + encode) and the
// ratio to the same ONNX Runtime runs in a bare loop plus ffmpeg fed the same number of frames by a bare script;
// (2) with --rss: peak RSS of a 64-frame 512×512 job (run in a fresh process), against the bound
// 2 × frames × frame bytes + 300 MB.
// Usage: node dist/bench/video-pipeline.js [runs=5]
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { isFfmpegUnavailable, prepareVideoEncoding, type VideoEncoding } from '../src/media/ffmpeg-binary.js';
import { ffmpegArguments } from '../src/media/video-encoder.js';
import { createVideoJobHandler } from '../src/pipelines/video/job-handler.js';
import { createSessionFactory } from '../src/runtime/session-factory.js';
import { videoHarness, type VideoHarness } from '../test/video/harness.js';
import { fmt, machine, median } from './lib/measure.js';
import { bareFfmpeg } from './lib/bare-ffmpeg.js';

const prepared = await prepareVideoEncoding();
if (isFfmpegUnavailable(prepared)) throw new Error(prepared.error);
const encoding: VideoEncoding = prepared;
const handler = createVideoJobHandler(async () => encoding);

interface Split {
  denoise: number;
  decode: number;
  encode: number;
  total: number;
}

/** One job; the denoise phase ends with its last progress event, the decode time is the VAE runs' sum. */
async function pipelineRun(harness: VideoHarness, input: Record<string, unknown>): Promise<Split> {
  const job = harness.job();
  let denoiseEnd = 0;
  job.onEvent = (event) => {
    if (event.event === 'progress' && event.data.stage === 'denoise') denoiseEnd = performance.now();
  };
  const started = performance.now();
  await handler.run(handler.parse(input, harness.parseContext()), job.context);
  const total = performance.now() - started;
  const decode = job.runs.filter((r) => r.graph === 'vae_decoder').reduce((sum, r) => sum + r.seconds * 1000, 0);
  const denoise = denoiseEnd - started;
  return { denoise, decode, encode: total - denoise - decode, total };
}

/** The same ONNX Runtime runs in a bare loop: text encoder once, the UNet per step, the VAE per frame. */
async function bareRuns(dir: string, frames: number, side: number, steps: number): Promise<{ ort: number; ffmpeg: number }> {
  const sessions = createSessionFactory({ id: 'cpu', kind: 'cpu', index: 0 });
  const [text, unet, vae] = await Promise.all(['text_encoder', 'unet', 'vae_decoder'].map((g) => sessions.create(path.join(dir, g, 'model.onnx'))));
  const latent = side / 8;
  const sample = new ort.Tensor('float32', new Float32Array(2 * 4 * frames * latent * latent).map(() => Math.random()), [2, 4, frames, latent, latent]);
  const ids = new ort.Tensor('int32', new Int32Array(2 * 77), [2, 77]);
  const frame = new ort.Tensor('float32', new Float32Array(4 * latent * latent).map(() => Math.random()), [1, 4, latent, latent]);
  const started = performance.now();
  const hidden = (await text!.run({ input_ids: ids })).last_hidden_state!;
  for (let s = 0; s < steps; s++) {
    await unet!.run({ sample, timestep: new ort.Tensor('int64', BigInt64Array.of(BigInt(900 - s * 200)), [1]), encoder_hidden_states: hidden });
  }
  for (let f = 0; f < frames; f++) await vae!.run({ latent_sample: frame });
  const ortMs = performance.now() - started;
  const rgb = Array.from({ length: frames }, (_, f) => new Uint8Array(side * side * 3).fill(f * 8));
  const encodeStarted = performance.now();
  await bareFfmpeg(encoding.ffmpeg.path, ffmpegArguments({ width: side, height: side, fps: 8, format: 'mp4', encoder: encoding.encoders.mp4!, frameCount: frames }), rgb);
  const ffmpegMs = performance.now() - encodeStarted;
  await Promise.all([text, unet, vae].map((s) => s!.release()));
  return { ort: ortMs, ffmpeg: ffmpegMs };
}

/** Peak RSS of this process and of ffmpeg (sampled every 20 ms) during one 64-frame 512×512 job. */
async function peakRss(): Promise<void> {
  const harness = await videoHarness();
  let ffmpegPeakKb = 0;
  const sampler = setInterval(() => {
    const out = execFileSync('ps', ['-o', 'rss=', '--ppid', String(process.pid)], { encoding: 'utf8' });
    for (const line of out.split('\n')) ffmpegPeakKb = Math.max(ffmpegPeakKb, Number(line.trim()) || 0);
  }, 20);
  const before = process.resourceUsage().maxRSS;
  const split = await pipelineRun(harness, { prompt: 'a red square', width: 512, height: 512, frames: 64, steps: 4, seed: 1 });
  clearInterval(sampler);
  const peakMb = process.resourceUsage().maxRSS / 1024;
  const boundMb = (2 * 64 * 512 * 512 * 3) / 2 ** 20 + 300;
  console.log(
    `64 frames 512x512, 4 steps: ${fmt(split.total / 1000)} s; peak RSS node ${fmt(peakMb, 0)} MiB (after loading: ${fmt(before / 1024, 0)} MiB), ` +
      `ffmpeg ${fmt(ffmpegPeakKb / 1024, 0)} MiB; bound 2 × frames × frame bytes + 300 MB = ${fmt(boundMb, 0)} MiB: ` +
      `${peakMb <= boundMb ? 'met' : 'NOT met'} (node), ${peakMb + ffmpegPeakKb / 1024 <= boundMb ? 'met' : 'NOT met'} (node + ffmpeg)`,
  );
  await harness.close();
}

async function split(runs: number): Promise<void> {
  const harness = await videoHarness();
  const input = { prompt: 'a red square', width: 256, height: 256, frames: 16, steps: 4, seed: 1 };
  await pipelineRun(harness, input); // warm-up
  const ours: Split[] = [];
  const bare: Array<{ ort: number; ffmpeg: number }> = [];
  for (let r = 0; r < runs; r++) {
    ours.push(await pipelineRun(harness, input));
    bare.push(await bareRuns(path.join(harness.model.spec.dir), 16, 256, 4));
  }
  const m = (key: keyof Split): number => median(ours.map((o) => o[key]));
  const bareOrt = median(bare.map((b) => b.ort));
  const bareFf = median(bare.map((b) => b.ffmpeg));
  const bareTotal = median(bare.map((b) => b.ort + b.ffmpeg));
  console.log(`16 frames 256x256, 4 steps, tiny-video, ${runs} runs (medians), pipeline and bare alternating`);
  console.log(`  pipeline: total ${fmt(m('total'))} ms = denoise ${fmt(m('denoise'))} + VAE decode ${fmt(m('decode'))} + RGB and encode ${fmt(m('encode'))}`);
  console.log(`  bare:     ORT runs ${fmt(bareOrt)} ms (text encoder 1, UNet 4, VAE 16) + ffmpeg ${fmt(bareFf)} ms = ${fmt(bareTotal)} ms`);
  console.log(`  ratio pipeline / bare: ${fmt(m('total') / bareTotal, 3)}`);
  await harness.close();
}

console.log(machine());
if (process.argv.includes('--rss')) {
  await peakRss();
} else {
  await split(Number(process.argv[2] ?? 5));
  // a fresh process, so that the peak is this job's and not the split's
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--rss'], { stdio: 'inherit' });
  if (child.status !== 0) process.exitCode = 1;
}
