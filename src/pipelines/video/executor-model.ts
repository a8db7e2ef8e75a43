import { stat } from 'node:fs/promises';
import path from 'node:path';
import { usesGuidance } from '../diffusion/guidance.js';
import { readDiffusionConfig, type DiffusionConfig } from '../diffusion/model-config.js';
import { initialLatents, itemNoise, posteriorNoise, sampleLatents } from '../diffusion/sampling.js';
import { createScheduler } from '../diffusion/schedulers/index.js';
import { TextEncoder } from '../diffusion/text-encoder.js';
import { Unet } from '../diffusion/unet.js';
import { VaeDecoder, VaeEncoder } from '../diffusion/vae.js';
import type { ExecOutcome, ExecutorModel, ExecutorModelLoader, RunContext } from '../executor-types.js';
import { describeValues } from '../tensor/executor-model.js';
import type { VideoDecodePayload, VideoDecodeResult, VideoDenoisePayload, VideoDenoiseResult, VideoModelInfo, VideoPayload } from './protocol.js';
import { videoModelInfo } from './video-model-info.js';

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

/** A view over a buffer of its own, so that it can be transferred to the main thread. */
const transferable = (array: Float32Array): Float32Array =>
  array.byteOffset === 0 && array.byteLength === array.buffer.byteLength ? array : array.slice();

/** [frames, channels, h, w] from [channels, frames, h, w], times `scale`: each frame one contiguous slice. */
function frameMajor(latents: Float32Array, channels: number, frames: number, plane: number, scale: number): Float32Array {
  const out = new Float32Array(latents.length);
  for (let c = 0; c < channels; c++) {
    for (let f = 0; f < frames; f++) {
      const from = (c * frames + f) * plane;
      const to = (f * channels + c) * plane;
      for (let i = 0; i < plane; i++) out[to + i] = latents[from + i]! * scale;
    }
  }
  return out;
}

/** The same image latents [channels, h, w] for every frame: [channels, frames, h, w]. */
function repeatOverFrames(latents: Float32Array, channels: number, frames: number): Float32Array {
  const plane = latents.length / channels;
  const out = new Float32Array(latents.length * frames);
  for (let c = 0; c < channels; c++) {
    const channel = latents.subarray(c * plane, (c + 1) * plane);
    for (let f = 0; f < frames; f++) out.set(channel, (c * frames + f) * plane);
  }
  return out;
}

interface VideoGraphs {
  textEncoder: TextEncoder;
  unet: Unet;
  vaeDecoder: VaeDecoder;
  vaeEncoder: VaeEncoder | null;
}

/**
 * Samples the clip's latents: the whole clip goes through the 3-D UNet at each step (the guidance pair in one
 * run), cancel checked between steps. Image-to-video noises the image's latents, repeated for every frame,
 * to the step `strength` starts at; the noise is drawn for the whole clip, so each frame gets its own.
 */
async function denoise(g: VideoGraphs, config: DiffusionConfig, p: VideoDenoisePayload, ctx: RunContext): Promise<ExecOutcome<VideoDenoiseResult>> {
  const channels = config.latentChannels;
  const latentDims = [channels, p.frames, p.height / config.vaeScaleFactor, p.width / config.vaeScaleFactor];
  const size = latentDims.reduce((a, b) => a * b, 1);
  const guided = usesGuidance(p.guidanceScale);
  const { embeddings: hidden } = await g.textEncoder.encode(guided ? [p.negativePrompt, p.prompt] : [p.prompt], ctx);
  ctx.throwIfCancelled();

  const name = p.scheduler ?? config.defaultScheduler;
  const { scheduler, firstStep } = createScheduler(name, config.schedulers[name], p.steps, p.init?.strength);
  const noise = itemNoise(p.seed, 1);
  let init: Float32Array | null = null;
  if (p.init) {
    const image = (await g.vaeEncoder!.encode(p.init.planar, p.height, p.width, ctx)).sample(posteriorNoise(p.seed, 1)[0]!);
    init = repeatOverFrames(image.map((x) => x * config.vaeScaling), channels, p.frames);
  }
  const [latents] = await sampleLatents({
    scheduler,
    latents: initialLatents(scheduler, noise, size, init && { latents: [init], firstStep }),
    noise,
    firstStep,
    guidanceScale: p.guidanceScale,
    predict: (batch, batchSize, t) => g.unet.predict(batch, [batchSize, ...latentDims], t, hidden, ctx),
    ctx,
  });
  const result = frameMajor(latents!, channels, p.frames, size / (channels * p.frames), 1 / config.vaeScaling);
  return { result: { latents: result }, transfer: [result.buffer as ArrayBuffer] };
}

/** One frame through the VAE decoder. */
async function decode(g: VideoGraphs, config: DiffusionConfig, p: VideoDecodePayload, ctx: RunContext): Promise<ExecOutcome<VideoDecodeResult>> {
  ctx.throwIfCancelled();
  const dims = [1, config.latentChannels, p.height / config.vaeScaleFactor, p.width / config.vaeScaleFactor];
  const decoded = await g.vaeDecoder.decode(p.latents, dims, ctx);
  if (decoded.dims[1] !== 3) throw new Error(`vae_decoder: sample has ${decoded.dims[1]} channels, expected 3`);
  const planar = transferable(decoded.data);
  return { result: { planar }, transfer: [planar.buffer as ArrayBuffer] };
}

/** A diffusers-style text-to-video export: tokenizer, text encoder, 3-D UNet, VAE decoder (and encoder). */
export const loadVideoModel: ExecutorModelLoader = async (spec, sessions) => {
  const graph = (name: string): string => path.join(spec.dir, name, 'model.onnx');
  const [config, hasVaeEncoder] = await Promise.all([readDiffusionConfig(spec.dir), exists(graph('vae_encoder'))]);
  const [textEncoder, unetSession, decoderSession, encoderSession] = await Promise.all([
    TextEncoder.load(spec.dir, sessions),
    sessions.create(graph('unet')),
    sessions.create(graph('vae_decoder')),
    hasVaeEncoder ? sessions.create(graph('vae_encoder')) : Promise.resolve(null),
  ]);
  const unet = new Unet(unetSession);
  if (unet.guidanceEmbeddingDim !== null) throw new Error('unet: takes timestep_cond (a guidance embedding), which the video pipeline does not feed');
  if (unet.sampleRank !== 5) throw new Error(`unet: sample has rank ${unet.sampleRank}, expected 5 ([batch, channels, frames, h, w])`);
  const graphs: VideoGraphs = { textEncoder, unet, vaeDecoder: new VaeDecoder(decoderSession), vaeEncoder: encoderSession && new VaeEncoder(encoderSession) };
  const info: VideoModelInfo = videoModelInfo(spec, config, hasVaeEncoder);

  const model: ExecutorModel<VideoPayload, VideoDenoiseResult | VideoDecodeResult> = {
    metadata: { inputs: describeValues(unetSession.inputMetadata), outputs: describeValues(unetSession.outputMetadata), info: { ...info } },
    run: (payload, ctx) => (payload.op === 'denoise' ? denoise(graphs, config, payload, ctx) : decode(graphs, config, payload, ctx)),
    async warmUp() {
      const quiet: RunContext = { jobId: 'warm-up', cancelled: () => false, throwIfCancelled() {}, emit() {}, observeRun() {}, observeBatch() {} };
      const side = config.vaeScaleFactor * 8;
      const warm: VideoDenoisePayload = {
        op: 'denoise', prompt: '', negativePrompt: '', width: side, height: side, frames: 1, steps: 1, guidanceScale: 2, seed: 0, scheduler: null, init: null,
      };
      const { result } = await denoise(graphs, config, warm, quiet);
      await decode(graphs, config, { op: 'decode', latents: result.latents, width: side, height: side }, quiet);
    },
    async dispose() {
      await Promise.all([textEncoder.release(), unet.release(), graphs.vaeDecoder.release(), graphs.vaeEncoder?.release()]);
    },
  };
  return model as ExecutorModel;
};
