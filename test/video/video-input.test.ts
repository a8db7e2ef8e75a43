import t from 'tap';
import { ApiError } from '../../src/server/errors.js';
import type { ParseContext } from '../../src/pipelines/job-handler.js';
import type { VideoModelInfo } from '../../src/pipelines/video/protocol.js';
import { parseVideoInput } from '../../src/pipelines/video/video-input.js';

const info: VideoModelInfo = {
  width: 256, height: 256, frames: 16, fps: 8, steps: 4, guidance_scale: 7.5, vae_scale_factor: 8,
  image_to_video: true, scheduler: 'ddim', lcm_max_steps: 50, unsupported_schedulers: {}, max_frames: 64, max_pixels: 512 * 512, max_steps: 50,
};

function context(overrides: Partial<VideoModelInfo> = {}, parts: Record<string, number> = {}): ParseContext {
  return {
    model: {
      spec: { name: 'tiny-video', type: 'video', dir: '/nonexistent', manifest: {} },
      metadata: { inputs: [], outputs: [], info: { ...info, ...overrides } as unknown as Record<string, unknown> },
    },
    uploads: { has: (p) => p in parts, size: (p) => parts[p] ?? 0 },
    limits: { uploadLimitBytes: 1 << 20, bodyLimitBytes: 1 << 20 },
  };
}

function refusal(input: unknown, ctx = context()): ApiError {
  try {
    parseVideoInput(input, ctx);
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('the input was accepted');
}

const ok = { prompt: 'a red square' };

t.test('defaults come from the model and the contract', async (t) => {
  const parsed = parseVideoInput({ ...ok, seed: 3 }, context());
  t.match(parsed, { width: 256, height: 256, frames: 16, fps: 8, steps: 4, guidanceScale: 7.5, seed: 3, format: 'mp4', init: null });
});

t.test('null stands for a field not given, the optional ones included', async (t) => {
  const parsed = parseVideoInput({ ...ok, negative_prompt: null, init_image: null, strength: null, seed: 3, fps: null, format: null }, context());
  t.match(parsed, { negativePrompt: '', fps: 8, format: 'mp4', init: null });
  t.match(refusal({ ...ok, size: null }), { statusCode: 400, field: 'input.size' });
});

t.test('a missing seed is drawn at random', async (t) => {
  t.ok(Number.isInteger(parseVideoInput(ok, context()).seed));
});

t.test('frames 0 is refused naming input.frames', async (t) => {
  t.match(refusal({ ...ok, frames: 0 }), { statusCode: 400, code: 'invalid_input', field: 'input.frames' });
});

t.test('frames over the model limit are refused naming input.frames', async (t) => {
  t.match(refusal({ ...ok, frames: 65 }), { statusCode: 400, field: 'input.frames', message: /1 to 64/ });
});

t.test('fps below 1 is refused naming input.fps, however tiny', async (t) => {
  for (const fps of [0.999, 1e-7, 0.000001, 1e-300, 0, -8]) {
    t.match(refusal({ ...ok, fps }), { statusCode: 400, code: 'invalid_input', field: 'input.fps', message: /from 1 to 60/ }, `fps ${fps}`);
  }
  t.equal(parseVideoInput({ ...ok, fps: 1 }, context()).fps, 1);
});

t.test('fps over 60 is refused naming input.fps', async (t) => {
  t.match(refusal({ ...ok, fps: 61 }), { statusCode: 400, field: 'input.fps' });
});

t.test('a fractional fps within range is accepted', async (t) => {
  t.equal(parseVideoInput({ ...ok, fps: 7.5 }, context()).fps, 7.5);
});

t.test('sizes over the pixel limit are refused with 413', async (t) => {
  t.match(refusal({ ...ok, width: 1024, height: 1024 }), { statusCode: 413, code: 'payload_too_large', field: 'input.width' });
});

t.test('a size that is not a multiple of 8 is refused', async (t) => {
  t.match(refusal({ ...ok, width: 250 }), { statusCode: 400, field: 'input.width', message: /multiple of 8/ });
});

t.test('an unknown format is refused naming input.format', async (t) => {
  t.match(refusal({ ...ok, format: 'gif' }), { statusCode: 400, field: 'input.format', message: /mp4, webm/ });
});

t.test('an init image that is not base64 is refused naming input.init_image', async (t) => {
  t.match(refusal({ ...ok, init_image: 'not base64 at all!' }), { statusCode: 400, field: 'input.init_image' });
});

t.test('an init image naming a part that was not uploaded is refused', async (t) => {
  t.match(refusal({ ...ok, init_image: 'file:picture' }), { statusCode: 400, field: 'input.init_image' });
});

t.test('an init image from an uploaded part or a data URL is accepted with its strength', async (t) => {
  t.match(parseVideoInput({ ...ok, init_image: 'file:picture', strength: 0.5 }, context({}, { picture: 10 })).init, { image: { part: 'picture' }, strength: 0.5 });
  const inline = parseVideoInput({ ...ok, init_image: 'data:image/png;base64,iVBORw0KGgo=' }, context()).init;
  t.same(inline?.image, { inline: Buffer.from('iVBORw0KGgo=', 'base64') });
});

t.test('strength outside (0, 1] is refused naming input.strength', async (t) => {
  t.match(refusal({ ...ok, init_image: 'iVBORw0KGgo=', strength: 1.5 }), { field: 'input.strength' });
  t.match(refusal({ ...ok, init_image: 'iVBORw0KGgo=', strength: 0 }), { field: 'input.strength' });
});

t.test('an init image for a model without a VAE encoder is refused', async (t) => {
  t.match(refusal({ ...ok, init_image: 'iVBORw0KGgo=' }, context({ image_to_video: false })), { field: 'input.init_image' });
});

t.test('a missing prompt is refused naming input.prompt', async (t) => {
  t.match(refusal({}), { field: 'input.prompt' });
});

t.test('a prompt or negative prompt over 4096 characters is a 413 naming it, as for images', async (t) => {
  t.match(refusal({ prompt: 'x'.repeat(4097) }), { statusCode: 413, code: 'payload_too_large', field: 'input.prompt' });
  t.match(refusal({ ...ok, negative_prompt: 'x'.repeat(4097) }), { statusCode: 413, code: 'payload_too_large', field: 'input.negative_prompt' });
});

t.test('an unknown field is refused naming it', async (t) => {
  t.match(refusal({ ...ok, n: 2 }), { field: 'input.n' });
  t.equal(refusal({ ...ok, ['x'.repeat(500)]: 1 }).field, `input.${'x'.repeat(64)}`, 'a long name is cut, not echoed whole');
});

t.test('steps over the model limit are refused naming input.steps', async (t) => {
  t.match(refusal({ ...ok, steps: 51 }), { field: 'input.steps' });
});

t.test('lcm steps over what its grid keeps at the strength are refused naming input.steps', async (t) => {
  const init = { init_image: 'iVBORw0KGgo=', strength: 0.5 };
  t.match(refusal({ ...ok, ...init, scheduler: 'lcm', steps: 26 }), { statusCode: 400, field: 'input.steps', message: /at most 25/ });
  t.match(refusal({ ...ok, ...init, steps: 26 }, context({ scheduler: 'lcm' })), { field: 'input.steps' }, 'lcm as the model default');
  t.equal(parseVideoInput({ ...ok, ...init, scheduler: 'lcm', steps: 25 }, context()).steps, 25);
  t.equal(parseVideoInput({ ...ok, ...init, steps: 26 }, context()).steps, 26, 'other samplers skip steps instead');
});

t.test('lcm steps over original_inference_steps are refused naming input.steps', async (t) => {
  t.match(refusal({ ...ok, scheduler: 'lcm', steps: 21 }, context({ lcm_max_steps: 20 })), { field: 'input.steps', message: /1 to 20/ });
});

t.test('a strength that leaves lcm no timestep is refused naming input.strength', async (t) => {
  t.match(refusal({ ...ok, init_image: 'iVBORw0KGgo=', strength: 0.01, scheduler: 'lcm' }), { statusCode: 400, field: 'input.strength' });
});
