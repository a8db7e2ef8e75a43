import t from 'tap';
import { fakeFfmpeg, ffmpegLeft } from '../helpers/ffmpeg-children.js';
import { isFfmpegUnavailable, prepareVideoEncoding, type VideoEncoding } from '../../src/media/ffmpeg-binary.js';
import { PipelineError } from '../../src/pipelines/executor-types.js';
import { createVideoJobHandler } from '../../src/pipelines/video/job-handler.js';
import { isWebm, mp4TopLevelBoxes } from '../media/containers.js';
import { centroid, decodeFrames, videoHarness } from './harness.js';

const prepared = await prepareVideoEncoding();
if (isFfmpegUnavailable(prepared)) throw new Error(prepared.error);
const encoding: VideoEncoding = prepared;
const handler = createVideoJobHandler(async () => encoding);
const harness = await videoHarness();
t.teardown(() => harness.close());

const small = { prompt: 'a red square', width: 64, height: 64, frames: 6, steps: 4, seed: 7 };

t.test('a text-to-video job writes video.mp4 and poster.png', async (t) => {
  const job = harness.job();
  await handler.run(handler.parse(small, harness.parseContext()), job.context);
  const video = job.outputs.get('video.mp4');
  t.equal(video?.contentType, 'video/mp4');
  t.ok(mp4TopLevelBoxes(video!.data).indexOf('moov') < mp4TopLevelBoxes(video!.data).indexOf('mdat'), 'moov before mdat');
  t.equal(job.outputs.get('poster.png')?.contentType, 'image/png');
  t.same(job.framesEncoded, [{ codec: 'h264', frames: 6 }]);
});

t.test('the red square moves right from frame to frame', async (t) => {
  const job = harness.job();
  await handler.run(handler.parse({ ...small, width: 128, height: 96 }, harness.parseContext()), job.context);
  const frames = decodeFrames(encoding.ffmpeg.path, job.outputs.get('video.mp4')!.data, 128, 96);
  t.equal(frames.length, 6);
  const xs = frames.map((f) => centroid(f, 128, 0));
  t.ok(xs.every((c) => c.pixels > 50), `a square is visible in every frame: ${xs.map((c) => c.pixels).join(', ')}`);
  for (let i = 1; i < xs.length; i++) t.ok(xs[i]!.x > xs[i - 1]!.x + 2, `frame ${i}: x ${xs[i - 1]!.x.toFixed(1)} → ${xs[i]!.x.toFixed(1)}`);
});

t.test('the prompt sets the square colour', async (t) => {
  const job = harness.job();
  await handler.run(handler.parse({ ...small, prompt: 'a blue square', frames: 2 }, harness.parseContext()), job.context);
  const [first] = decodeFrames(encoding.ffmpeg.path, job.outputs.get('video.mp4')!.data, 64, 64);
  t.ok(centroid(first!, 64, 2).pixels > 50, 'blue pixels');
  t.equal(centroid(first!, 64, 0).pixels, 0, 'no red pixels');
});

t.test('progress reports every denoising step, then every encoded frame', async (t) => {
  const job = harness.job();
  await handler.run(handler.parse(small, harness.parseContext()), job.context);
  const progress = job.events.filter((e) => e.event === 'progress').map((e) => `${e.data.stage}:${e.data.step}/${e.data.total}`);
  t.same(progress, ['denoise:1/4', 'denoise:2/4', 'denoise:3/4', 'denoise:4/4', ...[1, 2, 3, 4, 5, 6].map((n) => `encode:${n}/6`)]);
});

t.test('pndm, which video shares, runs the 3-D UNet steps + 1 times and reports each step once', async (t) => {
  const job = harness.job();
  await handler.run(handler.parse({ ...small, frames: 2, scheduler: 'pndm' }, harness.parseContext()), job.context);
  const progress = job.events.filter((e) => e.event === 'progress').map((e) => `${e.data.stage}:${e.data.step}/${e.data.total}`);
  t.same(progress.filter((p) => p.startsWith('denoise:')), ['denoise:1/4', 'denoise:2/4', 'denoise:3/4', 'denoise:4/4']);
  t.equal(job.runs.filter((r) => r.graph === 'unet').length, 5);
});

t.test('webm output is VP9 in an EBML container', async (t) => {
  const job = harness.job();
  await handler.run(handler.parse({ ...small, format: 'webm', frames: 3 }, harness.parseContext()), job.context);
  t.ok(isWebm(job.outputs.get('video.webm')!.data));
  t.same(job.framesEncoded, [{ codec: 'vp9', frames: 3 }]);
});

t.test('the same seed gives the same video', async (t) => {
  const [a, b] = [harness.job(), harness.job()];
  await handler.run(handler.parse(small, harness.parseContext()), a.context);
  await handler.run(handler.parse(small, harness.parseContext()), b.context);
  t.same(a.outputs.get('poster.png')!.data, b.outputs.get('poster.png')!.data);
});

t.test('image-to-video at low strength keeps the init image', async (t) => {
  // a green image: the square stays hidden in green at low strength, and takes over at strength 1
  const green = new Uint8Array(64 * 64 * 3).map((_, i) => (i % 3 === 1 ? 220 : 20));
  const png = await harness.job().context.media.encodeImage(green, 64, 64, 'png');
  const run = async (strength: number): Promise<Uint8Array> => {
    const job = harness.job({ init: png });
    const parsed = handler.parse({ ...small, frames: 2, init_image: 'file:init', strength }, harness.parseContext({ init: png }));
    await handler.run(await handler.admit!(parsed, job.admission), job.context);
    return decodeFrames(encoding.ffmpeg.path, job.outputs.get('video.mp4')!.data, 64, 64)[1]!;
  };
  const kept = centroid(await run(0.3), 64, 1).pixels;
  const replaced = centroid(await run(1), 64, 1).pixels;
  t.ok(kept > 64 * 64 * 0.4, `green stays at strength 0.3 (${kept} pixels)`);
  t.ok(replaced < kept / 10, `the prompt wins at strength 1 (${replaced} pixels)`);
});

t.test('lcm image-to-video runs all its steps, on the timesteps the strength keeps, as diffusers does', async (t) => {
  const png = await harness.job().context.media.encodeImage(new Uint8Array(64 * 64 * 3).fill(90), 64, 64, 'png');
  const job = harness.job({ init: png });
  const parsed = handler.parse({ ...small, frames: 2, scheduler: 'lcm', init_image: 'file:init', strength: 0.5 }, harness.parseContext({ init: png }));
  await handler.run(await handler.admit!(parsed, job.admission), job.context);
  const progress = job.events.filter((e) => e.event === 'progress').map((e) => `${e.data.stage}:${e.data.step}/${e.data.total}`);
  t.same(progress.filter((p) => p.startsWith('denoise')), ['denoise:1/4', 'denoise:2/4', 'denoise:3/4', 'denoise:4/4']);
});

t.test('an uploaded init image that is not an image is refused at admission with 415 naming the field', async (t) => {
  const job = harness.job({ init: Buffer.from('not an image') });
  const input = handler.parse({ ...small, init_image: 'file:init' }, harness.parseContext({ init: Buffer.from('not an image') }));
  await t.rejects(handler.admit!(input, job.admission), { code: 'unsupported_media_type', field: 'input.init_image' });
  t.equal(job.outputs.size, 0);
});

t.test('cancel during encoding kills ffmpeg and writes nothing', async (t) => {
  const job = harness.job();
  const input = handler.parse({ ...small, frames: 24 }, harness.parseContext());
  job.onEvent = (event) => {
    if (event.event === 'progress' && event.data.stage === 'encode' && event.data.step === 3) job.controller.abort();
  };
  await t.rejects(handler.run(input, job.context), { name: 'AbortError' });
  t.same(await ffmpegLeft(), [], 'ffmpeg is gone');
  t.equal(job.outputs.size, 0, 'no output written');
});

t.test('cancel during denoising stops between steps and kills ffmpeg', async (t) => {
  const job = harness.job();
  job.onEvent = (event) => {
    if (event.event === 'progress' && event.data.step === 2) job.controller.abort();
  };
  await t.rejects(handler.run(handler.parse({ ...small, steps: 10 }, harness.parseContext()), job.context), { name: /AbortError|JobCanceledError/ });
  await new Promise((r) => setTimeout(r, 100));
  t.equal(job.events.length, 2, 'no step after the cancel');
  t.same(await ffmpegLeft(), [], 'ffmpeg, started early, is gone');
  t.equal(job.outputs.size, 0);
});

t.test('an ffmpeg that crashes fails the job with a clear error and writes nothing', async (t) => {
  const crashing = fakeFfmpeg(t, 'exit 1');
  const broken = createVideoJobHandler(async () => ({ ...encoding, ffmpeg: { ...encoding.ffmpeg, path: crashing } }));
  const job = harness.job();
  const error = await broken.run(broken.parse(small, harness.parseContext()), job.context).then(() => null, (e: unknown) => e);
  t.type(error, PipelineError);
  t.match(error, { code: 'video_encoding_failed', message: /^ffmpeg exited with code 1 while encoding mp4 with / });
  t.equal(job.outputs.size, 0);
});

t.test('an ffmpeg that exits 0 having written nothing fails the job and writes nothing', async (t) => {
  const silent = fakeFfmpeg(t, 'cat >/dev/null\nexit 0');
  for (const path of [silent, '/bin/true']) {
    const broken = createVideoJobHandler(async () => ({ ...encoding, ffmpeg: { ...encoding.ffmpeg, path } }));
    const job = harness.job();
    const error = await broken.run(broken.parse(small, harness.parseContext()), job.context).then(() => null, (e: unknown) => e);
    t.match(error, { code: 'video_encoding_failed', message: /^ffmpeg wrote no video while encoding mp4 with / }, path);
    t.equal(job.outputs.size, 0, `${path}: no output written`);
  }
});

t.test('without a usable ffmpeg, video jobs fail with the reason', async (t) => {
  const missing = createVideoJobHandler(async () => ({ error: 'no ffmpeg found' }));
  const job = harness.job();
  await t.rejects(missing.run(missing.parse(small, harness.parseContext()), job.context), {
    code: 'video_encoding_unavailable',
    message: /no ffmpeg found/,
  });
});
