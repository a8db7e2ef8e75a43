import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import sharp from 'sharp';
import OpenAI from 'openai';
import { call } from '../helpers/http.js';
import { channelMeans, halvesPng, pixels } from './harness.js';
import { startNode } from '../helpers/node.js';
import { CIPHERTEXT_OVERHEAD } from '../../src/scratch/aead.js';
import { pngDeclaring } from '../media/png-crafting.js';

const node = await startNode({ models: ['tiny-sd'] });
t.teardown(() => node.close());
const client = new OpenAI({ baseURL: `${node.url}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0 });
const JOB = { type: 'image', model: 'tiny-sd', input: { prompt: 'a red square', width: 64, height: 64, steps: 3, seed: 9 } };
const scratchEntries = async (): Promise<string[]> => readdir(node.scratchDir).catch(() => []);

t.test('the openai client generates images as b64_json', async (t) => {
  const res = await client.images.generate({ model: 'tiny-sd', prompt: 'a green circle', n: 2, size: '256x256' });
  t.equal(res.data!.length, 2);
  const { rgb, width } = await pixels(Buffer.from(res.data![0]!.b64_json!, 'base64'));
  t.equal(width, 256);
  const [r, g, b] = channelMeans(rgb);
  t.ok(g > r && g > b, `means ${r}, ${g}, ${b}`);
  t.type(res.created, 'number');
});

t.test('a url answer points at the job output, which serves the image', async (t) => {
  const res = await client.images.generate({ model: 'tiny-sd', prompt: 'a blue square', size: '64x64' as '256x256', response_format: 'url', output_format: 'webp', stream: false });
  const url = res.data![0]!.url!;
  t.match(url, /\/v1\/jobs\/[^/]+\/outputs\/image-0\.webp$/);
  const image = await fetch(url);
  t.equal(image.headers.get('content-type'), 'image/webp');
  const [r, g, b] = channelMeans((await pixels(Buffer.from(await image.arrayBuffer()))).rgb);
  t.ok(b > r && b > g);
});

t.test('a bad size gets a 400 in OpenAI error shape naming size', async (t) => {
  const err = await client.images.generate({ model: 'tiny-sd', prompt: 'a red square', size: '100x100' as '256x256' }).catch((e: unknown) => e);
  t.ok(err instanceof OpenAI.BadRequestError);
  t.match((err as InstanceType<typeof OpenAI.BadRequestError>).error, { param: 'size', type: 'invalid_request_error' });
  // the request has no input.width: the message says which part of size is wrong, in the request's own terms
  const message = (err as InstanceType<typeof OpenAI.BadRequestError>).message;
  t.match(message, /size's width must be a multiple of 8/);
  t.notMatch(message, /input\./);
});

t.test('a refused job input field is named in the message as the request names it', async (t) => {
  const res = await call(node, 'POST', '/v1/images/generations', { body: { model: 'tiny-sd', prompt: 'a red square', size: '64x64', output_compression: 101, output_format: 'webp' } });
  t.equal(res.status, 400);
  t.equal(res.body.error.param, 'output_compression');
  t.match(res.body.error.message, /^output_compression /);
});

t.test("output_compression takes OpenAI's range, 0 to 100", async (t) => {
  for (const output_compression of [0, 100]) {
    const res = await call(node, 'POST', '/v1/images/generations', { body: { model: 'tiny-sd', prompt: 'a red square', size: '64x64', output_compression, output_format: 'jpeg' } });
    t.equal(res.status, 200, `output_compression ${output_compression}`);
  }
});

t.test('n over the limit and an unknown response_format get 400s naming them', async (t) => {
  const tooMany = await client.images.generate({ model: 'tiny-sd', prompt: 'a red square', n: 9, size: '256x256' }).catch((e: unknown) => e);
  t.match((tooMany as InstanceType<typeof OpenAI.BadRequestError>).error, { param: 'n' });
  const format = await call(node, 'POST', '/v1/images/generations', { body: { model: 'tiny-sd', prompt: 'a red square', response_format: 'jpeg' } });
  t.equal(format.status, 400);
  t.equal(format.body.error.param, 'response_format');
});

t.test('a client that goes away before its images are answered cancels the job, which leaves nothing in scratch', async (t) => {
  const controller = new AbortController();
  const request = fetch(`${node.url}/v1/images/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    // eight 1024 × 1024 images at 100 steps: seconds of work, long after the client has gone
    body: JSON.stringify({ model: 'tiny-sd', prompt: 'a red square', size: '1024x1024', n: 8, steps: 100, response_format: 'url' }),
    signal: controller.signal,
  }).catch(() => undefined);
  let running: { id: string } | undefined;
  for (let i = 0; i < 200 && !running; i++) {
    running = (await call(node, 'GET', '/v1/jobs?status=running&type=image')).body.jobs[0];
    if (!running) await new Promise((r) => setTimeout(r, 10));
  }
  t.ok(running, 'the job runs');
  controller.abort();
  await request;
  let job = (await call(node, 'GET', `/v1/jobs/${running!.id}`)).body;
  for (let i = 0; i < 200 && !['succeeded', 'failed', 'canceled'].includes(job.status); i++) {
    await new Promise((r) => setTimeout(r, 25));
    job = (await call(node, 'GET', `/v1/jobs/${running!.id}`)).body;
  }
  t.equal(job.status, 'canceled');
  t.same(job.outputs, []);
  for (let i = 0; i < 100 && (await scratchEntries()).includes(running!.id); i++) await new Promise((r) => setTimeout(r, 20));
  t.notOk((await scratchEntries()).includes(running!.id), 'its scratch is erased');
});

t.test('an image job runs to its outputs and reports its seed and its last denoising step', async (t) => {
  const res = await call(node, 'POST', '/v1/jobs', { body: JOB, headers: { prefer: 'wait=60' } });
  t.equal(res.status, 200);
  t.equal(res.body.status, 'succeeded');
  t.equal(res.body.seed, 9);
  t.same(res.body.progress, { step: 3, total: 3, stage: 'denoise' });
  t.same(res.body.outputs.map((o: { name: string }) => o.name), ['image-0.png']);
});

t.test('an output rests in scratch only as ciphertext of its own size, and downloads as the PNG', async (t) => {
  const res = await call(node, 'POST', '/v1/jobs', { body: { ...JOB, input: { ...JOB.input, seed: 12 } }, headers: { prefer: 'wait=60' } });
  const [output] = res.body.outputs as { url: string; bytes: number }[];
  const files = await readdir(path.join(node.scratchDir, res.body.id));
  t.same(files, ['out-0.sealed']);
  const sealed = await readFile(path.join(node.scratchDir, res.body.id, files[0]!));
  const png = Buffer.from(await (await fetch(`${node.url}${output!.url}`)).arrayBuffer());
  t.equal(png.subarray(1, 4).toString('ascii'), 'PNG');
  t.equal(png.length, output!.bytes);
  t.equal(sealed.length, png.length + CIPHERTEXT_OVERHEAD, 'IV, ciphertext and tag');
  t.equal(sealed.indexOf(png.subarray(0, 16)), -1, 'no plaintext PNG header on disk');
  t.equal(sealed.indexOf(png.subarray(png.length >> 1, (png.length >> 1) + 16)), -1, 'nor its middle');
});

t.test('a multipart job takes its init image from a file part', async (t) => {
  const form = new FormData();
  form.append('job', JSON.stringify({ ...JOB, input: { ...JOB.input, prompt: 'a photo', init_image: 'file:init', strength: 0.1, steps: 20, guidance_scale: 1 } }));
  form.append('init', new Blob([await halvesPng(64, 64)], { type: 'image/png' }), 'init.png');
  const res = await call(node, 'POST', '/v1/jobs', { body: form, headers: { prefer: 'wait=60' } });
  t.equal(res.body.status, 'succeeded');
  const image = await fetch(`${node.url}${res.body.outputs[0].url}`);
  const { rgb } = await pixels(Buffer.from(await image.arrayBuffer()));
  t.ok(rgb[2]! > rgb[0]!, 'the left edge stays blue');
});

t.test('a refused image job leaves nothing in scratch', async (t) => {
  const before = await scratchEntries();
  const form = new FormData();
  form.append('job', JSON.stringify({ ...JOB, input: { ...JOB.input, width: 63, init_image: 'file:init' } }));
  form.append('init', new Blob([await halvesPng(64, 64)], { type: 'image/png' }), 'init.png');
  const res = await call(node, 'POST', '/v1/jobs', { body: form });
  t.equal(res.status, 400);
  t.equal(res.body.error.field, 'input.width');
  t.same(await scratchEntries(), before);
});

t.test('an SVG init image is refused with 415 at submission and leaves nothing in scratch', async (t) => {
  const before = await scratchEntries();
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>').toString('base64');
  const res = await call(node, 'POST', '/v1/jobs', { body: { ...JOB, input: { ...JOB.input, init_image: `data:image/svg+xml;base64,${svg}` } } });
  t.equal(res.status, 415);
  t.equal(res.body.error.field, 'input.init_image');
  t.same(await scratchEntries(), before);
});

t.test('an uploaded decompression bomb is refused with 413 at submission and leaves nothing in scratch', async (t) => {
  const before = await scratchEntries();
  const form = new FormData();
  form.append('job', JSON.stringify({ ...JOB, input: { ...JOB.input, init_image: 'file:init', strength: 0.5 } }));
  form.append('init', new Blob([pngDeclaring(50_000, 50_000)], { type: 'image/png' }), 'init.png');
  const res = await call(node, 'POST', '/v1/jobs', { body: form, headers: { prefer: 'wait=60' } });
  t.equal(res.status, 413);
  t.equal(res.body.error.code, 'payload_too_large');
  t.equal(res.body.error.field, 'input.init_image');
  t.same(await scratchEntries(), before);
});

t.test('an uploaded truncated PNG is refused with 400 at submission', async (t) => {
  const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#0a0' } }).png().toBuffer();
  const form = new FormData();
  form.append('job', JSON.stringify({ ...JOB, input: { ...JOB.input, init_image: 'file:init', strength: 0.5 } }));
  form.append('init', new Blob([png.subarray(0, png.length >> 1)], { type: 'image/png' }), 'init.png');
  const res = await call(node, 'POST', '/v1/jobs', { body: form });
  t.equal(res.status, 400);
  t.equal(res.body.error.field, 'input.init_image');
});

t.test('diffusion steps and per-graph run times are in the metrics', async (t) => {
  const text = (await call(node, 'GET', '/metrics')).text;
  t.match(text, /infernode_diffusion_steps_total\{model="tiny-sd"\} [1-9]/);
  for (const graph of ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder']) t.match(text, new RegExp(`infernode_model_run_seconds_count\\{[^}]*graph="${graph}"`));
});
