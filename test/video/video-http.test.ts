// Video jobs through a whole node (HTTP, job service, executor thread, scratch).
import { readdir } from 'node:fs/promises';
import t from 'tap';
import { ffmpegChildren } from '../helpers/ffmpeg-children.js';
import { call, readEvents } from '../helpers/http.js';
import { startNode } from '../helpers/node.js';
import { mp4TopLevelBoxes } from '../media/containers.js';

const node = await startNode({ models: ['tiny-video'], config: { preload: 'all' } });
t.teardown(() => node.close());

const job = (input: Record<string, unknown>): Record<string, unknown> => ({ type: 'video', model: 'tiny-video', input });
const small = { prompt: 'a red square', width: 64, height: 64, frames: 4, steps: 2, seed: 1 };

for (let i = 0; i < 300 && (await call(node, 'GET', '/readyz')).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
const probe = await call(node, 'POST', '/v1/jobs', { body: job({ ...small, frames: 0 }) });

async function settled<T>(check: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await check();
  for (let i = 0; i < 100 && !done(value); i++) {
    await new Promise((r) => setTimeout(r, 50));
    value = await check();
  }
  return value;
}

t.test('video over HTTP', async (t) => {
  t.test('frames 0 is a 400 naming input.frames', async (t) => {
    t.equal(probe.status, 400);
    t.equal(probe.body.error.field, 'input.frames');
  });

  t.test('a video job succeeds with video.mp4 and poster.png, and progress for steps then frames', async (t) => {
    const submitted = await call(node, 'POST', '/v1/jobs', { body: job(small) });
    // subscribed while it runs: a stream opened after the end carries only `done`
    const events = await readEvents(node, `/v1/jobs/${submitted.body.id}/events`);
    const res = await call(node, 'GET', `/v1/jobs/${submitted.body.id}`);
    t.equal(res.body.status, 'succeeded');
    t.same(res.body.outputs.map((o: { name: string; content_type: string }) => [o.name, o.content_type]), [
      ['video.mp4', 'video/mp4'],
      ['poster.png', 'image/png'],
    ]);
    const video = await fetch(`${node.url}/v1/jobs/${res.body.id}/outputs/video.mp4`);
    const boxes = mp4TopLevelBoxes(new Uint8Array(await video.arrayBuffer()));
    t.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'), 'moov before mdat');
    const stages = events.filter((e) => e.event === 'progress').map((e) => e.data.stage);
    t.same(stages, ['denoise', 'denoise', 'encode', 'encode', 'encode', 'encode']);
    const metrics = await call(node, 'GET', '/metrics');
    t.match(metrics.text, /infernode_video_frames_encoded_total\{model="tiny-video",codec="h264"\} [1-9]/);
  });

  t.test('cancel while encoding kills ffmpeg and erases the job from scratch', async (t) => {
    const res = await call(node, 'POST', '/v1/jobs', { body: job({ ...small, width: 512, height: 512, frames: 64, steps: 2 }) });
    const id = res.body.id as string;
    await settled(() => call(node, 'GET', `/v1/jobs/${id}`), (r) => r.body.progress?.stage === 'encode');
    const canceled = await call(node, 'DELETE', `/v1/jobs/${id}`);
    t.equal(canceled.body.status, 'canceled');
    t.same(await settled(async () => ffmpegChildren(), (c) => c.length === 0), [], 'no ffmpeg left');
    const left = await settled(() => readdir(node.scratchDir), (d) => !d.includes(id));
    t.notOk(left.includes(id), 'the job has nothing left in scratch');
    const errors = node.logs.map((l) => JSON.parse(l)).filter((l) => l.jobId === id && l.level >= 50);
    t.same(errors, [], 'a cancel is not logged as a failure of the node');
  });
});
