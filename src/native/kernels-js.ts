/**
 * The reference implementations of the tensor kernels, and the fallback where the addon cannot load. The
 * native kernels in native/ are bit-identical to these; test/native/kernels.test.ts holds them to it.
 */

/** Per output channel (R, G, B). */
export type ChannelTriple = readonly [number, number, number];

/** What both implementations provide; arguments are already checked by kernels.ts. */
export interface TensorKernels {
  /** HWC uint8 (3 or 4 channels) into NCHW planes R, G, B; `out` is Float32Array or float16 bits. */
  imageToTensorInto(hwc: Uint8Array, width: number, height: number, channels: 3 | 4, scale: ChannelTriple, offset: ChannelTriple, out: Float32Array | Uint16Array): void;
  float32ToFloat16Into(src: Float32Array, dst: Uint16Array): void;
  float16ToFloat32Into(src: Uint16Array, dst: Float32Array): void;
  /** `channels` planes of height*width floats from `start` into interleaved bytes. */
  tensorToImageInto(nchw: Float32Array, start: number, channels: number, height: number, width: number, out: Uint8Array): void;
}

/** IEEE binary32 bits to binary16 bits: nearest even, overflow to infinity, NaN quieted keeping its top bits. */
export function float32BitsToFloat16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const abs = bits & 0x7fffffff;
  if (abs >= 0x7f800000) return abs === 0x7f800000 ? sign | 0x7c00 : sign | 0x7e00 | ((abs >>> 13) & 0x3ff);
  // 65520 is halfway between 65504 (largest half, odd mantissa) and 2^16: ties to even round it up to infinity.
  if (abs >= 0x477ff000) return sign | 0x7c00;
  if (abs < 0x38800000) {
    // 2^-25 is halfway between zero and the smallest subnormal; ties to even give zero.
    if (abs <= 0x33000000) return sign;
    const shift = 126 - (abs >>> 23);
    const mantissa = (abs & 0x7fffff) | 0x800000;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  const rebiased = abs - 0x38000000;
  let half = rebiased >>> 13;
  const rest = rebiased & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

/** binary16 bits to binary32 bits (exact; NaN quieted keeping its payload). Unsigned result. */
export function float16ToFloat32Bits(half: number): number {
  const sign = (half & 0x8000) << 16;
  const exponent = (half >>> 10) & 0x1f;
  let mantissa = half & 0x3ff;
  if (exponent === 0x1f) return (mantissa === 0 ? sign | 0x7f800000 : sign | 0x7fc00000 | (mantissa << 13)) >>> 0;
  if (exponent === 0) {
    if (mantissa === 0) return sign >>> 0;
    let e = 113;
    while ((mantissa & 0x400) === 0) {
      mantissa <<= 1;
      e--;
    }
    return (sign | (e << 23) | ((mantissa & 0x3ff) << 13)) >>> 0;
  }
  return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
}

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

function float32ToFloat16Value(value: number): number {
  scratchFloat[0] = value;
  return float32BitsToFloat16(scratchBits[0]!);
}

/** A uint8 has 256 values, so each channel's px*scale+offset (double, rounded to float32) is a table. */
function channelTables<T extends Float32Array | Uint16Array>(make: (n: number) => T, convert: (v: number) => number, scale: ChannelTriple, offset: ChannelTriple): [T, T, T] {
  const table = (c: 0 | 1 | 2): T => {
    const t = make(256);
    for (let v = 0; v < 256; v++) t[v] = convert(Math.fround(v * scale[c] + offset[c]));
    return t;
  };
  return [table(0), table(1), table(2)];
}

function gatherPlanes(hwc: Uint8Array, pixels: number, stride: number, tables: readonly [Float32Array | Uint16Array, Float32Array | Uint16Array, Float32Array | Uint16Array], out: Float32Array | Uint16Array): void {
  const [r, g, b] = tables;
  const gOffset = pixels;
  const bOffset = 2 * pixels;
  for (let p = 0, i = 0; p < pixels; p++, i += stride) {
    out[p] = r[hwc[i]!]!;
    out[gOffset + p] = g[hwc[i + 1]!]!;
    out[bOffset + p] = b[hwc[i + 2]!]!;
  }
}

/** NaN and below -1 to 0, 1 and above to 255, else floor((x + 1) * 127.5 + 0.5): ties round up. */
export function unitToByte(x: number): number {
  const v = (x + 1) * 127.5;
  if (!(v > 0)) return 0;
  if (!(v < 255)) return 255;
  return Math.floor(v + 0.5);
}

export const jsKernels: TensorKernels = {
  imageToTensorInto(hwc, width, height, channels, scale, offset, out) {
    const tables =
      out instanceof Float32Array
        ? channelTables((n) => new Float32Array(n), (v) => v, scale, offset)
        : channelTables((n) => new Uint16Array(n), float32ToFloat16Value, scale, offset);
    gatherPlanes(hwc, width * height, channels, tables, out);
  },

  float32ToFloat16Into(src, dst) {
    const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
    for (let i = 0; i < bits.length; i++) dst[i] = float32BitsToFloat16(bits[i]!);
  },

  float16ToFloat32Into(src, dst) {
    // Written as bits: storing a NaN through a Float32Array may change its payload.
    const bits = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
    for (let i = 0; i < src.length; i++) bits[i] = float16ToFloat32Bits(src[i]!);
  },

  tensorToImageInto(nchw, start, channels, height, width, out) {
    const pixels = height * width;
    for (let c = 0; c < channels; c++) {
      const plane = start + c * pixels;
      for (let p = 0; p < pixels; p++) out[p * channels + c] = unitToByte(nchw[plane + p]!);
    }
  },
};
