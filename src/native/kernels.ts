/**
 * Tensor conversions for the pipelines: image bytes to model input, float32 <-> float16, model output to
 * image bytes. Native where the addon loads, else the bit-identical JS reference (see nativeStatus()).
 * Float16 data travels as its bits in a Uint16Array, which is what onnxruntime-node takes for 'float16'.
 */
import { nativeAddon } from './addon.js';
import { jsKernels, type ChannelTriple, type TensorKernels } from './kernels-js.js';

export type { ChannelTriple } from './kernels-js.js';
export { nativeStatus } from './addon.js';

export type TensorDtype = 'float32' | 'float16';
type TensorOf<D extends TensorDtype> = D extends 'float32' ? Float32Array : Uint16Array;

export interface ImageToTensorOptions<D extends TensorDtype> {
  dtype: D;
  /** per channel R, G, B: value = byte * scale + offset (e.g. [2/255, 2/255, 2/255] and [-1, -1, -1] for [-1, 1]) */
  scale: ChannelTriple;
  offset: ChannelTriple;
  /** where to write (length 3*width*height), e.g. a subarray of a batch tensor; allocated when absent */
  out?: TensorOf<D>;
}

function kernels(): TensorKernels {
  return nativeAddon() ?? jsKernels;
}

function requireSize(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
}

function requireLength(name: string, actual: number, expected: number): void {
  if (actual !== expected) throw new RangeError(`${name} has length ${actual}, expected ${expected}`);
}

function requireTriple(name: string, triple: ChannelTriple): void {
  if (triple.length !== 3 || !triple.every(Number.isFinite)) throw new RangeError(`${name} must be 3 finite numbers`);
}

/**
 * HWC uint8 RGB or RGBA (alpha dropped) to NCHW [1, 3, height, width], value = byte * scale[c] + offset[c],
 * computed in double, rounded to float32 and, for 'float16', then to float16 (nearest even).
 */
export function imageToTensor<D extends TensorDtype>(rgb: Uint8Array, width: number, height: number, channels: 3 | 4, opts: ImageToTensorOptions<D>): TensorOf<D> {
  requireSize('width', width);
  requireSize('height', height);
  if (channels !== 3 && channels !== 4) throw new RangeError(`channels must be 3 or 4, got ${channels}`);
  requireTriple('scale', opts.scale);
  requireTriple('offset', opts.offset);
  requireLength('image', rgb.length, width * height * channels);
  const size = 3 * width * height;
  const out = (opts.out ?? (opts.dtype === 'float16' ? new Uint16Array(size) : new Float32Array(size))) as TensorOf<D>;
  if (opts.dtype === 'float16' ? !(out instanceof Uint16Array) : !(out instanceof Float32Array)) {
    throw new TypeError(`out must be a ${opts.dtype === 'float16' ? 'Uint16Array' : 'Float32Array'} for dtype ${opts.dtype}`);
  }
  requireLength('out', out.length, size);
  kernels().imageToTensorInto(rgb, width, height, channels, opts.scale, opts.offset, out);
  return out;
}

/** float32 to float16 bits: round to nearest even, overflow to ±Infinity, subnormals kept, NaN stays NaN. */
export function float32ToFloat16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  requireLength('dst', dst.length, src.length);
  kernels().float32ToFloat16Into(src, dst);
  return dst;
}

/** float16 bits to float32 (exact). */
export function float16ToFloat32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  requireLength('dst', dst.length, src.length);
  kernels().float16ToFloat32Into(src, dst);
  return dst;
}

/**
 * Image `batchIndex` of an NCHW tensor of floats in [-1, 1] to HWC bytes (RGB for 3 channels):
 * floor((x + 1) * 127.5 + 0.5) clamped to [0, 255], NaN to 0.
 */
export function tensorToImage(nchw: Float32Array, batchIndex: number, channels: number, height: number, width: number, out?: Uint8Array): Uint8Array {
  requireSize('batchIndex', batchIndex);
  requireSize('height', height);
  requireSize('width', width);
  if (!Number.isSafeInteger(channels) || channels < 1) throw new RangeError(`channels must be a positive integer, got ${channels}`);
  const imageSize = channels * height * width;
  const start = batchIndex * imageSize;
  if (start + imageSize > nchw.length) throw new RangeError(`tensor of length ${nchw.length} has no image ${batchIndex} of ${channels}x${height}x${width}`);
  const image = out ?? new Uint8Array(imageSize);
  requireLength('out', image.length, imageSize);
  kernels().tensorToImageInto(nchw, start, channels, height, width, image);
  return image;
}
