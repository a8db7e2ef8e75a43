import { secureZero } from '../../native/secure-memory.js';
import type { JobContext, JobHandler } from '../job-handler.js';
import { admitInitImage, readInitRgb } from '../diffusion/init-image.js';
import { CONTENT_TYPES, parseImageInput, type ImageInput } from './image-input.js';
import type { ImagePayload, ImageResult } from './protocol.js';

/** The init image as RGB at the job's size: decoded and sealed at admission. */
async function initRgb(input: ImageInput, ctx: JobContext): Promise<ImagePayload['init']> {
  return input.init ? { rgb: await readInitRgb(ctx), strength: input.init.strength } : null;
}

/**
 * Encodes one generated image and seals it into the job's outputs, both in the media pool, which takes the pixels
 * and zeroes them; they are zeroed here if they never got there.
 */
async function storeImage(image: Uint8Array, index: number, result: ImageResult, input: ImageInput, ctx: JobContext): Promise<void> {
  try {
    await ctx.sealOutput(`image-${index}.${input.format}`, CONTENT_TYPES[input.format], (target) =>
      ctx.media.encodeImageSealed(target, image, result.width, result.height, input.format, input.quality, ctx.signal),
    );
  } finally {
    secureZero(image);
  }
}

/** `image` jobs: text-to-image and image-to-image on a diffusers export. */
export const imageJobHandler: JobHandler<ImageInput> = {
  type: 'image',
  parse: parseImageInput,
  async admit(input, ctx) {
    return input.init ? { ...input, init: await admitInitImage(input.init, { width: input.width, height: input.height }, ctx) } : input;
  },
  async run(input, ctx) {
    const init = await initRgb(input, ctx);
    const payload: ImagePayload = {
      prompt: input.prompt,
      negativePrompt: input.negativePrompt,
      width: input.width,
      height: input.height,
      steps: input.steps,
      guidanceScale: input.guidanceScale,
      scheduler: input.scheduler,
      seed: input.seed,
      n: input.n,
      init,
    };
    const result = await ctx.execute<ImageResult>(payload, init ? [init.rgb.buffer as ArrayBuffer] : []);
    ctx.reportSeed(result.seed);
    await Promise.all(result.images.map((image, i) => storeImage(image, i, result, input, ctx)));
    return { seed: result.seed, truncated_prompt_tokens: result.truncatedTokens };
  },
};
