import { secureZero } from '../../native/secure-memory.js';
import type { AdmissionContext, JobContext } from '../job-handler.js';
import type { ImageSource } from './input-fields.js';

/** An init image is decoded at most at this size (then resized to the job's), whatever the upload limit. */
const MAX_INIT_IMAGE_PIXELS = 4096 * 4096;

/** Where the admitted init image waits, decoded and sealed; no uploaded part can have this name. */
const DECODED_INIT = '.init-rgb';

export interface InitImage {
  image: ImageSource | { decoded: true };
  strength: number;
  maxBytes: number;
}

/**
 * At submission: decodes the init image (resized to the job's size) in the media pool, so that a file that is
 * not an image, is truncated or is a decompression bomb is a 4xx now, not a failed job later. The RGB pixels
 * are sealed in the job's input vault and the inline bytes zeroed.
 */
export async function admitInitImage(init: InitImage, size: { width: number; height: number }, ctx: AdmissionContext): Promise<InitImage> {
  if ('decoded' in init.image) return init;
  const bytes = 'part' in init.image ? await ctx.readUpload(init.image.part) : init.image.inline;
  try {
    const rgb = await ctx.media.decodeImage(bytes, { field: 'input.init_image', maxInputBytes: init.maxBytes, maxPixels: MAX_INIT_IMAGE_PIXELS, resize: size });
    await ctx.writeInput(DECODED_INIT, rgb.data);
    secureZero(rgb.data);
    return { ...init, image: { decoded: true } };
  } finally {
    secureZero(bytes);
  }
}

/** At run: the admitted init image's RGB (HWC) pixels, in a buffer of their own (transferable). */
export async function readInitRgb(ctx: JobContext): Promise<Uint8Array> {
  const sealed = await ctx.readUpload(DECODED_INIT);
  const rgb = new Uint8Array(sealed);
  secureZero(sealed);
  return rgb;
}
