import t from 'tap';
import { Worker } from 'node:worker_threads';
import { nativeAddon, nativeStatus } from '../../src/native/addon.js';
import { float16ToFloat32, float32ToFloat16, imageToTensor, tensorToImage } from '../../src/native/kernels.js';
import { jsKernels, type ChannelTriple } from '../../src/native/kernels-js.js';
// seeded, so a failure can be replayed
import { seededRandom as random } from '../../src/loadgen/random.js';


const addon = nativeAddon();
if (!addon) throw new Error(`these tests compare the native kernels with JS, but ${nativeStatus().reason}`);

const bitsOf = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

function floatsFromBits(bits: Iterable<number>): Float32Array {
  const u = Uint32Array.from(bits);
  return new Float32Array(u.buffer);
}

/** Runs a native conversion in chunks of 7, shorter than its vector width, so the scalar path runs too. */
function inShortChunks<S extends Uint16Array | Float32Array, D extends Uint16Array | Float32Array>(src: S, dst: D, convert: (s: S, d: D) => void): D {
  for (let i = 0; i < src.length; i += 7) convert(src.subarray(i, i + 7) as S, dst.subarray(i, i + 7) as D);
  return dst;
}

const allHalves = Uint16Array.from({ length: 65536 }, (_, i) => i);

function float32ToFloat16Cases(): Float32Array {
  const bits: number[] = [0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0x7fbfffff, 0xffffffff, 0x00000001, 0x807fffff, 0x33000000, 0x33000001, 0x337fffff, 0x477fe000, 0x477fefff, 0x477ff000, 0x7f7fffff, 0xff7fffff, 0x38800000, 0x387fffff, 0x387fe000, 0x387ff000];
  // Every float16 value, the float32 midpoints to its neighbour and one float32 ulp either side: every
  // rounding boundary there is.
  for (let h = 0; h < 0x7c00; h++) {
    const lo = new Float32Array(1);
    const hi = new Float32Array(1);
    jsKernels.float16ToFloat32Into(Uint16Array.of(h), lo);
    jsKernels.float16ToFloat32Into(Uint16Array.of(h + 1), hi);
    const mid = Math.fround((lo[0]! + hi[0]!) / 2);
    const midBits = bitsOf(Float32Array.of(mid))[0]!;
    for (const b of [bitsOf(lo)[0]!, midBits - 1, midBits, midBits + 1]) bits.push(b, (b | 0x80000000) >>> 0);
  }
  const next = random(1);
  for (let i = 0; i < 200_000; i++) bits.push(Math.floor(next() * 2 ** 32));
  return floatsFromBits(bits);
}

t.test('the native addon is what runs in these tests', async (t) => {
  t.equal(nativeStatus().implementation, 'native');
});

t.test('float16 to float32 is bit-identical to the JS reference for all 65536 patterns', async (t) => {
  const reference = new Float32Array(65536);
  jsKernels.float16ToFloat32Into(allHalves, reference);
  t.same(bitsOf(float16ToFloat32(allHalves)), bitsOf(reference));
  t.same(bitsOf(inShortChunks(allHalves, new Float32Array(65536), addon.float16ToFloat32Into)), bitsOf(reference));
});

t.test('float32 to float16 is bit-identical to the JS reference at every rounding boundary, special and random value', async (t) => {
  const src = float32ToFloat16Cases();
  const reference = new Uint16Array(src.length);
  jsKernels.float32ToFloat16Into(src, reference);
  t.same(float32ToFloat16(src), reference);
  t.same(inShortChunks(src, new Uint16Array(src.length), addon.float32ToFloat16Into), reference);
});

t.test('float32 to float16 rounds to nearest even and handles overflow, subnormals and NaN', async (t) => {
  const cases: Array<[number, number]> = [
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [65504, 0x7bff],
    [65519.99, 0x7bff],
    [65520, 0x7c00],
    [1e10, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000],
    [1.5 * 2 ** -25, 0x0001],
    [1.5 * 2 ** -24, 0x0002],
    [2 ** -14, 0x0400],
    [1 + 2 ** -11, 0x3c00],
    [1 + 3 * 2 ** -11, 0x3c02],
    [-0, 0x8000],
  ];
  const out = float32ToFloat16(Float32Array.from(cases, ([v]) => v));
  t.same([...out].map((h) => h.toString(16)), cases.map(([, h]) => h.toString(16)));
  const nan = float32ToFloat16(floatsFromBits([0x7fc00000, 0xff800001]));
  t.same([...nan], [0x7e00, 0xfe00]);
});

t.test('every float16 value survives the round trip through float32', async (t) => {
  const finite = allHalves.filter((h) => (h & 0x7c00) !== 0x7c00 || (h & 0x3ff) === 0);
  t.same(float32ToFloat16(float16ToFloat32(finite)), finite);
});

const NORMALISATIONS: Array<{ scale: ChannelTriple; offset: ChannelTriple }> = [
  { scale: [2 / 255, 2 / 255, 2 / 255], offset: [-1, -1, -1] },
  { scale: [1 / 255, 1 / 255, 1 / 255], offset: [0, 0, 0] },
  // ImageNet mean and std
  { scale: [1 / (255 * 0.229), 1 / (255 * 0.224), 1 / (255 * 0.225)], offset: [-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225] },
  { scale: [1000, -1000, 300], offset: [0.5, 1e-7, -70000] },
];

t.test('image to tensor is bit-identical to the JS reference for RGB and RGBA, float32 and float16', async (t) => {
  const next = random(2);
  for (const channels of [3, 4] as const) {
    for (const dtype of ['float32', 'float16'] as const) {
      for (const norm of NORMALISATIONS) {
        const width = 1 + Math.floor(next() * 67);
        const height = 1 + Math.floor(next() * 31);
        const image = Uint8Array.from({ length: width * height * channels }, () => Math.floor(next() * 256));
        const reference = dtype === 'float16' ? new Uint16Array(3 * width * height) : new Float32Array(3 * width * height);
        jsKernels.imageToTensorInto(image, width, height, channels, norm.scale, norm.offset, reference);
        const native = imageToTensor(image, width, height, channels, { dtype, ...norm });
        const asBits = (a: Float32Array | Uint16Array) => (a instanceof Float32Array ? bitsOf(a) : a);
        t.same(asBits(native), asBits(reference), `${channels} channels, ${dtype}, ${width}x${height}`);
      }
    }
  }
});

t.test('image to tensor writes R, G and B planes and drops alpha', async (t) => {
  const rgba = Uint8Array.of(10, 20, 30, 255, 40, 50, 60, 0);
  const tensor = imageToTensor(rgba, 2, 1, 4, { dtype: 'float32', scale: [1, 1, 1], offset: [0, 0, 0.5] });
  t.same([...tensor], [10, 40, 20, 50, 30.5, 60.5]);
});

t.test('image to tensor fills a given slice of a batch tensor', async (t) => {
  const batch = new Uint16Array(2 * 3 * 4);
  imageToTensor(new Uint8Array(4 * 3).fill(255), 2, 2, 3, { dtype: 'float16', scale: [1 / 255, 1 / 255, 1 / 255], offset: [0, 0, 0], out: batch.subarray(12) });
  t.same([...batch.subarray(0, 12)], new Array(12).fill(0));
  t.same([...batch.subarray(12)], new Array(12).fill(0x3c00));
});

t.test('tensor to image is bit-identical to the JS reference over random, halfway and out-of-range values', async (t) => {
  const next = random(3);
  const [channels, height, width, batch] = [3, 17, 23, 2];
  const special = [NaN, Infinity, -Infinity, -1, 1, 0, -1.0000001, 1.0000001, 2 ** -149, -(2 ** -149)];
  const halfway = Array.from({ length: 255 }, (_, k) => Math.fround((k + 0.5) / 127.5 - 1));
  const values = [...special, ...halfway];
  const tensor = Float32Array.from({ length: batch * channels * height * width }, (_, i) => (i < values.length ? values[i]! : next() * 2.4 - 1.2));
  for (let b = 0; b < batch; b++) {
    const reference = new Uint8Array(channels * height * width);
    jsKernels.tensorToImageInto(tensor, b * reference.length, channels, height, width, reference);
    t.same(tensorToImage(tensor, b, channels, height, width), reference, `image ${b}`);
  }
});

t.test('tensor to image matches the JS reference with special values in every plane and every lane of a vector step', async (t) => {
  const special = [NaN, -NaN, Infinity, -Infinity, -1, 1, 0, -0, -1.0000001, 1.0000001, 2 ** -149, Math.fround(0.5 / 127.5 - 1), Math.fround(254.5 / 127.5 - 1)];
  const [height, width] = [3, 7];
  const plane = height * width;
  // each plane starts the list at another place, so every value meets every lane of the four-pixel steps
  const tensor = Float32Array.from({ length: 3 * plane }, (_, i) => special[(i + 5 * Math.floor(i / plane)) % special.length]!);
  const reference = new Uint8Array(3 * plane);
  jsKernels.tensorToImageInto(tensor, 0, 3, height, width, reference);
  t.same(tensorToImage(tensor, 0, 3, height, width), reference);
});

t.test('tensor to image interleaves planes into RGB with rounding half up and clamping', async (t) => {
  const tensor = Float32Array.of(-1, 0, 1, 0.5, -2, NaN);
  t.same([...tensorToImage(tensor, 0, 3, 1, 2)], [0, 255, 0, 128, 191, 0]);
});

t.test('a wrong length is refused with the argument named', async (t) => {
  const opts = { dtype: 'float32', scale: [1, 1, 1], offset: [0, 0, 0] } as const;
  t.throws(() => imageToTensor(new Uint8Array(11), 2, 2, 3, opts), { name: 'RangeError', message: /image has length 11, expected 12/ });
  t.throws(() => imageToTensor(new Uint8Array(12), 2, 2, 3, { ...opts, out: new Float32Array(5) }), { message: /out has length 5/ });
  t.throws(() => imageToTensor(new Uint8Array(12), 2, 2, 3, { ...opts, scale: [1, NaN, 1] }), { message: /scale must be 3 finite numbers/ });
  t.throws(() => float32ToFloat16(new Float32Array(4), new Uint16Array(3)), { message: /dst has length 3, expected 4/ });
  t.throws(() => tensorToImage(new Float32Array(12), 1, 3, 2, 2), { message: /has no image 1/ });
});

t.test('the native kernels refuse arrays that do not fit, whoever calls them', async (t) => {
  t.throws(() => addon.float32ToFloat16Into(new Float32Array(8), new Uint16Array(4)), { name: 'TypeError' });
  t.throws(() => addon.tensorToImageInto(new Float32Array(12), 1, 3, 2, 2, new Uint8Array(12)), { name: 'TypeError' });
  t.throws(() => addon.tensorToImageInto(new Float32Array(4), 0, 2 ** 33, 2 ** 31, 1, new Uint8Array(0)), { message: /sizes too large/ });
});

t.test('the kernels run inside a worker thread', async (t) => {
  const script = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(new URL('../../src/native/kernels.js', import.meta.url).href)}).then((k) => {
      parentPort.postMessage({ status: k.nativeStatus().implementation, half: k.float32ToFloat16(Float32Array.of(1.5))[0] });
    });`;
  const worker = new Worker(script, { eval: true });
  const message = await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
  await worker.terminate();
  t.same(message, { status: 'native', half: 0x3e00 });
});
