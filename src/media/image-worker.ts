/**
 * The media pool's worker: sharp decode/resize/encode and pixel layout conversions, off the main thread.
 * Functions are called by name through Piscina; each returns a WorkerReply whose pixel buffers are
 * transferred, not copied, back to the main thread.
 */
import '../runtime/worker-priority.js';
import sharp from 'sharp';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import {
  PNG_COMPRESSION_LEVEL,
  type DecodeTask,
  type EncodeTask,
  type MediaRefusal,
  type PlanarToRgbTask,
  type RgbImage,
  type RgbToPlanarTask,
  type SealedEncodeTask,
  type WorkerReply,
} from './media-protocol.js';
import { SealedFileWriter, type SealedSizes } from '../scratch/sealed-file.js';
import { sniffImageFormat } from './sniff.js';
import { imageToTensor, tensorToImage, type ChannelTriple } from '../native/kernels.js';
import { secureZero } from '../native/secure-memory.js';

// libvips' operation cache would keep users' decoded pixels alive after their job; parallelism comes from
// the pool's threads, not from libvips' own thread pool inside each of them.
sharp.cache(false);
sharp.concurrency(1);

/** bytes [0, 255] → [-1, 1], what VAE encoders take */
const TO_UNIT_RANGE: { scale: ChannelTriple; offset: ChannelTriple } = { scale: [2 / 255, 2 / 255, 2 / 255], offset: [-1, -1, -1] };

/** jpeg and webp; png is lossless */
const DEFAULT_QUALITY = 90;

/** Marks `value` so that Piscina transfers `buffers` with it instead of cloning them. */
function transferring<T extends object>(value: WorkerReply<T>, buffers: ArrayBuffer[]): unknown {
  return move({ [transferableSymbol]: buffers, [valueSymbol]: value });
}

const refuse = (refusal: MediaRefusal): WorkerReply<never> => ({ ok: false, refusal });

/** Answers once this worker has loaded its modules (the pool waits for it before it may terminate the worker). */
export const ready = (): boolean => true;

export async function decodeImage(task: DecodeTask): Promise<unknown> {
  try {
    const reply = await decode(task);
    return reply.ok ? transferring(reply, [reply.value.data.buffer as ArrayBuffer]) : reply;
  } finally {
    // our copy of the user's upload
    secureZero(task.bytes);
  }
}

async function decode({ bytes, field, maxPixels, resize }: DecodeTask): Promise<WorkerReply<RgbImage>> {
  // Only the three accepted loaders ever see the bytes: SVG, TIFF, HEIF and the rest are refused on their
  // signature, before libvips parses anything.
  const sniffed = sniffImageFormat(bytes);
  if (!sniffed) {
    return refuse({ code: 'unsupported_media_type', field, message: `The ${field} is not a PNG, JPEG or WebP image.` });
  }
  const options = { limitInputPixels: maxPixels, failOn: 'truncated', sequentialRead: true } as const;
  let width: number;
  let height: number;
  try {
    // header only: a decompression bomb is measured here and never decoded
    const meta = await sharp(bytes, options).metadata();
    if (meta.format !== sniffed) throw new Error('format mismatch');
    width = meta.width;
    height = meta.height;
  } catch (error) {
    if (error instanceof Error && /pixel limit/i.test(error.message)) return tooManyPixels(field, maxPixels);
    return refuse({ code: 'invalid_input', field, message: `The ${field} image is corrupt or truncated.` });
  }
  if (!(width > 0 && height > 0)) return refuse({ code: 'invalid_input', field, message: `The ${field} image has no pixels.` });
  if (width * height > maxPixels) return tooManyPixels(field, maxPixels);

  let pipeline = sharp(bytes, options).autoOrient().flatten({ background: '#ffffff' }).toColourspace('srgb').removeAlpha();
  if (resize) pipeline = pipeline.resize({ width: resize.width, height: resize.height, fit: 'cover', position: 'centre' });
  try {
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    return { ok: true, value: { data: ownedBytes(data), width: info.width, height: info.height } };
  } catch {
    return refuse({ code: 'invalid_input', field, message: `The ${field} image is corrupt or truncated.` });
  }
}

function tooManyPixels(field: string, maxPixels: number): WorkerReply<never> {
  return refuse({ code: 'payload_too_large', field, message: `The ${field} image has more than the ${maxPixels} pixels allowed.` });
}

export async function encodeImage(task: EncodeTask): Promise<unknown> {
  const data = ownedBytes(await encode(task));
  return transferring({ ok: true, value: data }, [data.buffer as ArrayBuffer]);
}

export async function encodeImageSealed({ sealTo, ...task }: SealedEncodeTask): Promise<WorkerReply<SealedSizes>> {
  const writer = new SealedFileWriter(sealTo);
  const encoded = await encode(task);
  try {
    return { ok: true, value: writer.write(encoded) };
  } finally {
    secureZero(encoded);
  }
}

/** Zeroes `rgb` once encoded. */
async function encode({ rgb, width, height, format, quality }: EncodeTask): Promise<Buffer> {
  const q = quality ?? DEFAULT_QUALITY;
  try {
    const image = sharp(rgb, { raw: { width, height, channels: 3 } });
    const encoded =
      format === 'png' ? image.png({ compressionLevel: PNG_COMPRESSION_LEVEL }) : format === 'jpeg' ? image.jpeg({ quality: q }) : image.webp({ quality: q });
    return await encoded.toBuffer();
  } finally {
    secureZero(rgb);
  }
}

export function planarToRgb({ planar, width, height }: PlanarToRgbTask): unknown {
  const rgb = tensorToImage(planar, 0, 3, height, width);
  secureZero(new Uint8Array(planar.buffer, planar.byteOffset, planar.byteLength));
  return transferring({ ok: true, value: rgb }, [rgb.buffer as ArrayBuffer]);
}

export function rgbToPlanar({ rgb, width, height }: RgbToPlanarTask): unknown {
  const planar = imageToTensor(rgb, width, height, 3, { dtype: 'float32', scale: TO_UNIT_RANGE.scale, offset: TO_UNIT_RANGE.offset });
  secureZero(rgb);
  return transferring({ ok: true, value: planar }, [planar.buffer as ArrayBuffer]);
}

/**
 * sharp's Buffers may be views into a shared or external allocation that postMessage cannot transfer;
 * a Uint8Array over a whole ArrayBuffer of its own always can.
 */
function ownedBytes(buffer: Buffer): Uint8Array {
  if (buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength) {
    return new Uint8Array(buffer.buffer as ArrayBuffer, 0, buffer.byteLength);
  }
  const owned = new Uint8Array(buffer);
  secureZero(buffer);
  return owned;
}
