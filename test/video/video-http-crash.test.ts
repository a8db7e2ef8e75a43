// An ffmpeg that passes the start-up probes but crashes on a real encode, behind a whole node: the job fails
// with a clear error and its scratch is erased.
import { readdir } from 'node:fs/promises';
import t from 'tap';
import { isFfmpegUnavailable, locateFfmpeg } from '../../src/media/ffmpeg-binary.js';
import { fakeFfmpeg } from '../helpers/ffmpeg-children.js';
import { call } from '../helpers/http.js';
import { startNode } from '../helpers/node.js';

const real = await locateFfmpeg();
if (isFfmpegUnavailable(real)) throw new Error(real.error);
const crashing = fakeFfmpeg(t, `case "$*" in *pipe:0*) echo "simulated crash" >&2; exit 1;; esac\nexec "${real.path}" "$@"`);
process.env.INFERNODE_FFMPEG = crashing;

const node = await startNode({ models: ['tiny-video'], config: { preload: 'all' } });
t.teardown(() => node.close());
for (let i = 0; i < 300 && (await call(node, 'GET', '/readyz')).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));

const body = { type: 'video', model: 'tiny-video', input: { prompt: 'a red square', width: 64, height: 64, frames: 4, steps: 2, seed: 1 } };
const res = await call(node, 'POST', '/v1/jobs', { body, headers: { prefer: 'wait=120' } });

t.test('an ffmpeg crash fails the job with a clear error and erases it', async (t) => {
  t.equal(res.body.status, 'failed');
  t.equal(res.body.error.code, 'video_encoding_failed');
  t.match(res.body.error.message, /^ffmpeg exited with code 1 while encoding mp4 with \S+$/);
  t.same(res.body.outputs, []);
  t.notOk((await readdir(node.scratchDir)).includes(res.body.id), 'nothing left in scratch');
  t.notOk(node.logs.join('\n').includes('red square'), 'the prompt is in no log line');
});

t.test("ffmpeg's stderr tail is logged at warn with the job id", async (t) => {
  const lines = node.logs.map((l) => JSON.parse(l)).filter((l) => l.jobId === res.body.id && l.detail !== undefined);
  t.equal(lines.length, 1, 'one line holds the detail');
  t.match(lines[0], { level: 40, detail: /simulated crash/, msg: /^ffmpeg exited with code 1 while encoding mp4/ });
});
