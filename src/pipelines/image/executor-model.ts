import { stat } from 'node:fs/promises';
import path from 'node:path';
import { imageToTensor, tensorToImage } from '../../native/kernels.js';
import { secureZero } from '../../native/secure-memory.js';
import type { ExecOutcome, ExecutorModel, ExecutorModelLoader, RunContext } from '../executor-types.js';
import { PipelineError } from '../executor-types.js';
import { readDiffusionConfig, type DiffusionConfig } from '../diffusion/model-config.js';
import type { GaussianNoise } from '../diffusion/noise.js';
import { initialLatents, itemNoise, posteriorNoise, sampleLatents } from '../diffusion/sampling.js';
import { createScheduler } from '../diffusion/schedulers/index.js';
import { scaled } from '../diffusion/schedulers/scheduler.js';
import { repeatRows, TextEncoder } from '../diffusion/text-encoder.js';
import { guidanceEmbedding, usesGuidance } from '../diffusion/guidance.js';
import { Unet } from '../diffusion/unet.js';
import { VaeDecoder, VaeEncoder } from '../diffusion/vae.js';
import { describeValues } from '../tensor/executor-model.js';
import type { ModelSpec } from '../../runtime/model-types.js';
import type { ImageModelInfo, ImagePayload, ImageResult } from './protocol.js';

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

/** Node defaults where neither infernode.json nor the export says otherwise. */
const DEFAULTS = { width: 512, height: 512, steps: 25, guidance_scale: 7.5, max_pixels: 1024 * 1024, max_steps: 100, max_n: 8 };
const API_MAX_N = 8;

function modelInfo(spec: ModelSpec, config: DiffusionConfig, tokens: number, imageToImage: boolean, guidanceEmbedding: boolean): ImageModelInfo {
  const defaults = spec.manifest.defaults ?? {};
  const limits = spec.manifest.limits ?? {};
  const pick = (source: Record<string, unknown>, key: keyof typeof DEFAULTS, exported?: number): number =>
    typeof source[key] === 'number' && (source[key] as number) > 0 ? (source[key] as number) : (exported ?? DEFAULTS[key]);
  return {
    width: pick(defaults, 'width', config.sampleSizePx),
    height: pick(defaults, 'height', config.sampleSizePx),
    steps: pick(defaults, 'steps'),
    guidance_scale: typeof defaults.guidance_scale === 'number' && defaults.guidance_scale >= 0 ? defaults.guidance_scale : DEFAULTS.guidance_scale,
    scheduler: config.defaultScheduler,
    size_multiple: config.vaeScaleFactor,
    image_to_image: imageToImage,
    lcm_max_steps: config.schedulers.lcm.original_inference_steps,
    unsupported_schedulers: config.unsupportedSchedulers,
    max_pixels: pick(limits, 'max_pixels'),
    max_steps: pick(limits, 'max_steps'),
    max_n: Math.min(pick(limits, 'max_n'), API_MAX_N),
    max_prompt_tokens: tokens - 2,
    guidance_embedding: guidanceEmbedding,
  };
}

/** A diffusers ONNX text-to-image export (and image-to-image where it has a VAE encoder). */
export const loadImageModel: ExecutorModelLoader = async (spec, sessions) => {
  const config = await readDiffusionConfig(spec.dir);
  const hasEncoder = await exists(path.join(spec.dir, 'vae_encoder', 'model.onnx'));
  const [textEncoder, unetSession, decoderSession, encoderSession] = await Promise.all([
    TextEncoder.load(spec.dir, sessions),
    sessions.create(path.join(spec.dir, 'unet', 'model.onnx')),
    sessions.create(path.join(spec.dir, 'vae_decoder', 'model.onnx')),
    hasEncoder ? sessions.create(path.join(spec.dir, 'vae_encoder', 'model.onnx')) : Promise.resolve(null),
  ]);
  const unet = new Unet(unetSession, config.timeCondProjDim);
  if (unet.sampleRank !== 4) throw new Error(`unet: sample has rank ${unet.sampleRank}, expected 4 (an image UNet)`);
  const vaeDecoder = new VaeDecoder(decoderSession);
  const vaeEncoder = encoderSession ? new VaeEncoder(encoderSession) : null;
  const info = modelInfo(spec, config, textEncoder.tokenizer.maxLength, vaeEncoder !== null, unet.guidanceEmbeddingDim !== null);

  async function generate(payload: ImagePayload, ctx: RunContext): Promise<{ result: ImageResult; release: () => void }> {
    const { width, height, n, steps, guidanceScale, seed } = payload;
    // a UNet distilled with guidance takes it as an embedding and runs unguided, one prompt, as diffusers' LCM
    // pipelines do (w = guidance_scale − 1): classifier-free guidance on top would apply it twice
    const embeddingDim = unet.guidanceEmbeddingDim;
    const cond = embeddingDim === null ? undefined : guidanceEmbedding(guidanceScale - 1, embeddingDim, n);
    const guided = cond === undefined && usesGuidance(guidanceScale);
    const prompts = guided ? [payload.negativePrompt, payload.prompt] : [payload.prompt];
    const { embeddings, truncated } = await textEncoder.encode(prompts, ctx);
    const hidden = repeatRows(embeddings, n);
    ctx.throwIfCancelled();

    const { scheduler, firstStep } = createScheduler(payload.scheduler, config.schedulers[payload.scheduler], steps, payload.init?.strength);
    const latentDims = [config.latentChannels, height / config.vaeScaleFactor, width / config.vaeScaleFactor];
    const size = latentDims.reduce((a, b) => a * b, 1);
    const noise = itemNoise(seed, n);
    const init = payload.init ? await initLatents(payload.init.rgb, width, height, posteriorNoise(seed, n), ctx) : null;
    const latents = await sampleLatents({
      scheduler,
      latents: initialLatents(scheduler, noise, size, init && { latents: init, firstStep }),
      noise,
      firstStep,
      guidanceScale: guided ? guidanceScale : 1,
      predict: (batch, batchSize, t) => unet.predict(batch, [batchSize, ...latentDims], t, hidden, ctx, cond),
      ctx,
    });
    const { images, release } = await decode(latents, latentDims, ctx);
    return { result: { images, width, height, seed, truncatedTokens: truncated }, release };
  }

  /** Init image → VAE encoder (once) → each item's latents × scaling, its posterior sampled with that item's `noise`. */
  async function initLatents(rgb: Uint8Array, width: number, height: number, noise: GaussianNoise[], ctx: RunContext): Promise<Float32Array[]> {
    if (!vaeEncoder) throw new PipelineError('invalid_input', 'This model has no VAE encoder, so it cannot take an init_image.', { field: 'input.init_image' });
    const pixels = imageToTensor(rgb, width, height, 3, { dtype: 'float32', scale: [2 / 255, 2 / 255, 2 / 255], offset: [-1, -1, -1] });
    secureZero(rgb);
    try {
      const posterior = await vaeEncoder.encode(pixels, height, width, ctx);
      return noise.map((source) => scaled(posterior.sample(source), config.vaeScaling));
    } finally {
      pixels.fill(0);
    }
  }

  /** The images as bytes; `release` zeroes the VAE's float output, the same pictures in another form. */
  async function decode(latents: Float32Array[], latentDims: number[], ctx: RunContext): Promise<{ images: Uint8Array[]; release: () => void }> {
    const size = latents[0]!.length;
    const batch = new Float32Array(latents.length * size);
    latents.forEach((item, i) => scaled(item, 1 / config.vaeScaling, batch.subarray(i * size, (i + 1) * size)));
    const decoded = await vaeDecoder.decode(batch, [latents.length, ...latentDims], ctx);
    const release = (): void => void decoded.data.fill(0);
    try {
      const [, channels, height, width] = decoded.dims as [number, number, number, number];
      if (channels !== 3) throw new Error(`vae_decoder: sample has ${channels} channels, expected 3`);
      return { images: latents.map((_, i) => tensorToImage(decoded.data, i, 3, height, width)), release };
    } catch (err) {
      release();
      throw err;
    }
  }

  const model: ExecutorModel<ImagePayload, ImageResult> = {
    metadata: { inputs: describeValues(unetSession.inputMetadata), outputs: describeValues(unetSession.outputMetadata), info: { ...info } },
    async run(payload, ctx): Promise<ExecOutcome<ImageResult>> {
      const { result, release } = await generate(payload, ctx);
      return { result, transfer: result.images.map((image) => image.buffer as ArrayBuffer), release };
    },
    async warmUp() {
      const quiet: RunContext = { jobId: 'warm-up', cancelled: () => false, throwIfCancelled: () => {}, emit: () => {}, observeRun: () => {}, observeBatch: () => {} };
      const side = config.vaeScaleFactor * 8;
      (await generate({ prompt: '', negativePrompt: '', width: side, height: side, steps: 1, guidanceScale: 2, scheduler: info.scheduler, seed: 0, n: 1, init: null }, quiet)).release();
    },
    async dispose() {
      await Promise.all([textEncoder.release(), unet.release(), vaeDecoder.release(), vaeEncoder?.release()]);
    },
  };
  return model as ExecutorModel;
};
