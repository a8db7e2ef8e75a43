import t, { type Test } from 'tap';
import sharp from 'sharp';
import { ApiError } from '../../src/server/errors.js';
import { pngDeclaring } from '../media/png-crafting.js';
import { imageHarness } from './harness.js';

const harness = await imageHarness();
t.teardown(() => harness.close());
const ok = { prompt: 'a red square', width: 64, height: 64, steps: 2 };

async function refusal(t: Test, promise: Promise<unknown> | (() => unknown), status: number, field: string): Promise<void> {
  const error = await (typeof promise === 'function' ? Promise.resolve().then(promise) : promise).then(
    () => null,
    (e: unknown) => e,
  );
  t.type(error, ApiError);
  t.equal((error as ApiError).statusCode, status);
  t.equal((error as ApiError).field, field);
}

const PNG = (await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toBuffer()).toString('base64');
const parse = (input: Record<string, unknown>) => () => harness.run({ ...ok, ...input });
const run = (input: Record<string, unknown>, uploads: Record<string, Buffer> = {}) => harness.run({ ...ok, ...input }, { uploads });

t.test('a width that is not a multiple of 8 is refused', (t) => refusal(t, parse({ width: 100 }), 400, 'input.width'));
t.test('a zero height is refused', (t) => refusal(t, parse({ height: 0 }), 400, 'input.height'));
t.test('a size over the pixel limit is refused with 413', (t) => refusal(t, parse({ width: 2048, height: 2048 }), 413, 'input.width'));
t.test('zero steps are refused', (t) => refusal(t, parse({ steps: 0 }), 400, 'input.steps'));
t.test('steps over the limit are refused', (t) => refusal(t, parse({ steps: 101 }), 400, 'input.steps'));
t.test('lcm steps over its distillation step count are refused', (t) => refusal(t, parse({ scheduler: 'lcm', steps: 51 }), 400, 'input.steps'));
t.test('lcm image-to-image steps over the timesteps its strength keeps are refused', (t) =>
  refusal(t, parse({ scheduler: 'lcm', init_image: PNG, strength: 0.5, steps: 26 }), 400, 'input.steps'));
t.test('a strength that leaves lcm no timestep is refused', (t) => refusal(t, parse({ scheduler: 'lcm', init_image: PNG, strength: 0 }), 400, 'input.strength'));
t.test('a negative guidance scale is refused', (t) => refusal(t, parse({ guidance_scale: -1 }), 400, 'input.guidance_scale'));
t.test('an unknown scheduler is refused', (t) => refusal(t, parse({ scheduler: 'dpm++' }), 400, 'input.scheduler'));
t.test('n over the limit is refused', (t) => refusal(t, parse({ n: 9 }), 400, 'input.n'));
t.test('a strength above 1 is refused', (t) => refusal(t, parse({ init_image: PNG, strength: 1.5 }), 400, 'input.strength'));
t.test('a negative strength is refused', (t) => refusal(t, parse({ init_image: PNG, strength: -0.1 }), 400, 'input.strength'));
t.test('a strength without an init image is refused', (t) => refusal(t, parse({ strength: 0.5 }), 400, 'input.strength'));
t.test('an unknown output format is refused', (t) => refusal(t, parse({ format: 'gif' }), 400, 'input.format'));
t.test('a quality out of 1..100 is refused', (t) => refusal(t, parse({ format: 'jpeg', quality: 0 }), 400, 'input.quality'));
t.test('an empty prompt is refused', (t) => refusal(t, parse({ prompt: ' ' }), 400, 'input.prompt'));
t.test('a prompt over the character limit is refused with 413', (t) => refusal(t, parse({ prompt: 'red '.repeat(2000) }), 413, 'input.prompt'));
t.test('an unknown field is refused', (t) => refusal(t, parse({ size: '64x64' }), 400, 'input.size'));
t.test('an init image data URL whose media type has parameters is taken', async (t) => {
  const job = await run({ init_image: `data:image/png;name=init.png;charset=binary;base64,${PNG}`, strength: 0.5 });
  t.same([...job.outputs.keys()], ['image-0.png']);
});
t.test('a data URL that is not base64 is refused', (t) => refusal(t, parse({ init_image: `data:image/png;name=init.png,${PNG}` }), 400, 'input.init_image'));
t.test('an init image that is not base64 is refused', (t) => refusal(t, parse({ init_image: 'not base64!' }), 400, 'input.init_image'));
t.test('an init image naming a part that was not uploaded is refused', (t) => refusal(t, parse({ init_image: 'file:missing' }), 400, 'input.init_image'));

t.test('an init image that is not an image is refused with 415 at submission', (t) =>
  refusal(t, parse({ init_image: Buffer.from('just some text, not an image').toString('base64') }), 415, 'input.init_image'));

t.test('an uploaded init image that is not an image is refused with 415 when decoded', (t) =>
  refusal(t, run({ init_image: 'file:text' }, { text: Buffer.from('just some text, not an image') }), 415, 'input.init_image'));

t.test('an SVG init image is refused with 415', (t) => {
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>');
  return refusal(t, parse({ init_image: `data:image/svg+xml;base64,${svg.toString('base64')}` }), 415, 'input.init_image');
});

t.test('a truncated init image is refused with 400', async (t) => {
  const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png({ compressionLevel: 0 }).toBuffer();
  return refusal(t, run({ init_image: png.subarray(0, png.length >> 1).toString('base64') }), 400, 'input.init_image');
});

t.test('a decompression bomb (a small PNG declaring 50000 × 50000) is refused with 413 before decoding', (t) =>
  refusal(t, run({ init_image: 'file:bomb' }, { bomb: pngDeclaring(50_000, 50_000) }), 413, 'input.init_image'));

t.test('null stands for a field not given, the optional ones included', async (t) => {
  const job = await run({ negative_prompt: null, format: 'jpeg', quality: null, init_image: null, strength: null, seed: null });
  t.same([...job.outputs.keys()], ['image-0.jpeg']);
  const img2img = await run({ init_image: PNG, strength: null, negative_prompt: null });
  t.same([...img2img.outputs.keys()], ['image-0.png']);
});

t.test('an unknown field is refused even when null', (t) => refusal(t, parse({ size: null }), 400, 'input.size'));
