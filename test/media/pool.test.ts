import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CIPHERTEXT_OVERHEAD, open } from '../../src/scratch/aead.js';
import { MediaPool } from '../../src/media/pool.js';
import { ApiError } from '../../src/server/errors.js';
import { pngDeclaring } from './png-crafting.js';

const pool = new MediaPool({ threads: 1 });
t.teardown(() => pool.destroy());

const LIMITS = { field: 'init_image', maxInputBytes: 8 << 20, maxPixels: 4096 * 4096 };

/** A width × height image: left half red, right half blue. */
function halves(width: number, height: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rgb.set(x < width / 2 ? [255, 0, 0] : [0, 0, 255], (y * width + x) * 3);
  }
  return rgb;
}

const pixel = (img: { data: Uint8Array; width: number }, x: number, y: number): number[] => [
  ...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3),
];

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
  return error;
}

t.test('a PNG round trip gives back the same pixels', async (t) => {
  const rgb = halves(20, 10);
  const png = await pool.encodeImage(rgb, 20, 10, 'png');
  const decoded = await pool.decodeImage(png, LIMITS);
  t.same([decoded.width, decoded.height], [20, 10]);
  t.same(Buffer.from(decoded.data), Buffer.from(rgb));
});

t.test('JPEG and WebP round trips keep the colours', async (t) => {
  for (const format of ['jpeg', 'webp'] as const) {
    const encoded = await pool.encodeImage(halves(32, 32), 32, 32, format, 95);
    const decoded = await pool.decodeImage(encoded, LIMITS);
    const [r, , b] = pixel(decoded, 4, 16);
    const [r2, , b2] = pixel(decoded, 28, 16);
    t.ok(r! > 200 && b! < 60, `${format}: left is red`);
    t.ok(b2! > 200 && r2! < 60, `${format}: right is blue`);
  }
});

t.test('encoded images carry the signature of their format', async (t) => {
  const rgb = halves(8, 8);
  t.equal((await pool.encodeImage(rgb, 8, 8, 'png')).subarray(1, 4).toString('ascii'), 'PNG');
  t.same([...(await pool.encodeImage(rgb, 8, 8, 'jpeg')).subarray(0, 2)], [0xff, 0xd8]);
  t.equal((await pool.encodeImage(rgb, 8, 8, 'webp')).subarray(8, 12).toString('ascii'), 'WEBP');
});

t.test('PNG is deflated at a fast level (zlib header FLEVEL 1: levels 2 to 5), not libvips\' default 6', async (t) => {
  const png = Buffer.from(await pool.encodeImage(halves(16, 16), 16, 16, 'png'));
  const idat = png.indexOf('IDAT');
  t.ok(idat > 0);
  // RFC 1950: CMF 0x78 (deflate, 32 KiB window), then FLG whose top two bits are FLEVEL
  t.equal(png[idat + 4], 0x78);
  t.equal(png[idat + 5]! >> 6, 1);
});

t.test('resize covers the target and crops the centre', async (t) => {
  // 40×10, red | blue; covering 10×10 keeps the middle 10 columns: 5 red then 5 blue
  const png = await pool.encodeImage(halves(40, 10), 40, 10, 'png');
  const decoded = await pool.decodeImage(png, { ...LIMITS, resize: { width: 10, height: 10 } });
  t.same([decoded.width, decoded.height], [10, 10]);
  t.same(pixel(decoded, 1, 5), [255, 0, 0]);
  t.same(pixel(decoded, 8, 5), [0, 0, 255]);
});

t.test('the decoded pixels arrive in a buffer of their own (transferred, not a slice of a pool)', async (t) => {
  const png = await pool.encodeImage(halves(16, 16), 16, 16, 'png');
  const decoded = await pool.decodeImage(png, LIMITS);
  t.equal(decoded.data.buffer.byteLength, 16 * 16 * 3);
});

t.test('bytes that are not an image are refused with 415 naming the field', async (t) => {
  const error = await refusal(pool.decodeImage(Buffer.from('hello, this is plain text'), LIMITS));
  t.equal(error.statusCode, 415);
  t.equal(error.code, 'unsupported_media_type');
  t.equal(error.field, 'init_image');
});

t.test('an SVG is refused with 415', async (t) => {
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
  const error = await refusal(pool.decodeImage(svg, LIMITS));
  t.equal(error.code, 'unsupported_media_type');
});

t.test('a GIF is refused with 415', async (t) => {
  const gif = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
  t.equal((await refusal(pool.decodeImage(gif, LIMITS))).code, 'unsupported_media_type');
});

t.test('a truncated PNG is refused with 400 invalid_input', async (t) => {
  const png = await pool.encodeImage(halves(64, 64).map((_, i) => (i * 37) % 251), 64, 64, 'png');
  const error = await refusal(pool.decodeImage(png.subarray(0, Math.floor(png.length / 2)), LIMITS));
  t.equal(error.statusCode, 400);
  t.equal(error.code, 'invalid_input');
  t.equal(error.field, 'init_image');
});

t.test('a PNG header declaring 50000×50000 is refused with 413 before decoding', async (t) => {
  const bomb = pngDeclaring(50_000, 50_000);
  t.ok(bomb.length < 1024, 'the bomb itself is tiny');
  const error = await refusal(pool.decodeImage(bomb, LIMITS));
  // it holds one row of pixels: decoding it would have failed as truncated (400), so a 413 came from the header
  t.equal(error.statusCode, 413);
  t.equal(error.code, 'payload_too_large');
  t.equal(error.field, 'init_image');
});

t.test('an upload over maxInputBytes is refused with 413', async (t) => {
  const png = await pool.encodeImage(halves(16, 16), 16, 16, 'png');
  const error = await refusal(pool.decodeImage(png, { ...LIMITS, maxInputBytes: 10 }));
  t.equal(error.code, 'payload_too_large');
});

t.test('an image over maxPixels is refused with 413', async (t) => {
  const png = await pool.encodeImage(halves(16, 16), 16, 16, 'png');
  t.equal((await refusal(pool.decodeImage(png, { ...LIMITS, maxPixels: 255 }))).code, 'payload_too_large');
});

t.test('planar [-1, 1] converts to RGB bytes and back', async (t) => {
  // planes R, G, B of a 3×1 image
  const values = [-1, 1, 0, 1, -1, 0, 0.5, 0.5, 0.5];
  const rgb = await pool.planarToRgb(new Float32Array(values), 3, 1);
  t.same([...rgb], [0, 255, 191, 255, 0, 191, 128, 128, 191]);
  const back = await pool.rgbToPlanar(rgb, 3, 1);
  t.ok(back.every((v, i) => Math.abs(v - values[i]!) < 0.01));
});

t.test('an aborted call rejects with an AbortError', async (t) => {
  const controller = new AbortController();
  controller.abort();
  const png = await pool.encodeImage(halves(16, 16), 16, 16, 'png');
  await t.rejects(pool.decodeImage(png, { ...LIMITS, signal: controller.signal }), { name: 'AbortError' });
});

t.test('a sealed encode writes the image, sealed, in the worker: the pixels and the key copy leave this thread', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'infernode-pool-sealed-'));
  const key = randomBytes(32);
  const target = { file: path.join(dir, 'out-0.sealed'), key: new Uint8Array(key) };
  const rgb = halves(24, 16);
  const expected = Buffer.from(rgb);
  const sizes = await pool.encodeImageSealed(target, rgb, 24, 16, 'png');
  t.equal(rgb.byteLength, 0, 'the pixels were transferred, not copied');
  t.equal(target.key.byteLength, 0, 'so was the key copy');
  const png = open(key, await readFile(target.file));
  t.same(sizes, { bytes: png.length, sealedBytes: png.length + CIPHERTEXT_OVERHEAD });
  const decoded = await pool.decodeImage(png, LIMITS);
  t.same(Buffer.from(decoded.data), expected);
});

t.test('a sealed encode that cannot write its file fails, and an aborted one never starts', async (t) => {
  await t.rejects(pool.encodeImageSealed({ file: path.join(os.tmpdir(), 'no-such-dir-infernode', 'x.sealed'), key: new Uint8Array(32) }, halves(8, 8), 8, 8, 'png'), /ENOENT/);
  const controller = new AbortController();
  controller.abort();
  const key = new Uint8Array(randomBytes(32));
  await t.rejects(pool.encodeImageSealed({ file: path.join(os.tmpdir(), 'never.sealed'), key }, halves(8, 8), 8, 8, 'png', undefined, controller.signal), { name: 'AbortError' });
});
