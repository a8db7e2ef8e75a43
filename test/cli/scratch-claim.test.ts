import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli, spawnDaemon } from '../../bench/lib/daemon-process.js';
import { fixtureModelsDir } from '../helpers/fixtures.js';
import { isClaimFile } from '../../src/scratch/scratch-claim.js';

const untilReady = async (url: string): Promise<void> => {
  for (let i = 0; i < 400 && (await fetch(`${url}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
};
const jobFiles = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((name) => !isClaimFile(name));

t.test('a second daemon on the port of a live one exits 2 with one line, and the live one\'s outputs stay', async (t) => {
  const models = await fixtureModelsDir(['tiny-sd']);
  const a = await spawnDaemon(['--models-dir', models, '--device', 'cpu']);
  t.teardown(() => a.child.kill('SIGKILL'));
  await untilReady(a.url);
  const port = new URL(a.url).port;
  const job = { type: 'image', model: 'tiny-sd', input: { prompt: 'a red square', width: 64, height: 64, steps: 2, seed: 1 } };
  const done = (await (await fetch(`${a.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'wait=60' }, body: JSON.stringify(job) })).json()) as { outputs: Array<{ url: string }> };
  const b = await runCli(['serve', '--port', port, '--models-dir', models, '--device', 'cpu']);
  t.equal(b.code, 2);
  t.equal(b.stderr.trim().split('\n').length, 1, 'one line');
  t.match(b.stderr, new RegExp(`^infernode: --scratch-dir: \\S*infernode-${port} is in use by a live infernode \\(pid ${a.child.pid}\\)`));
  t.equal((await fetch(`${a.url}${done.outputs[0]!.url}`)).status, 200, 'the first daemon still serves its output');
  a.child.kill('SIGTERM');
  t.equal(await a.exited, 0);
  t.notOk(existsSync(`/dev/shm/infernode-${port}`), 'the default root went with its daemon');
});

t.test('a root left by a daemon killed with -9 is taken over and swept by the next one', async (t) => {
  const scratch = path.join(await mkdtemp(path.join(os.tmpdir(), 'infernode-cli-')), 'scratch');
  const args = ['--models-dir', await fixtureModelsDir(['tiny-tensor']), '--scratch-dir', scratch, '--device', 'cpu'];
  const killed = await spawnDaemon(args);
  killed.child.kill('SIGKILL');
  await killed.exited;
  await mkdir(path.join(scratch, 'job_LEFTOVER'));
  await writeFile(path.join(scratch, 'job_LEFTOVER', 'in-0.sealed'), 'from the killed daemon');
  const next = await spawnDaemon(args);
  await untilReady(next.url);
  t.same(await jobFiles(scratch), [], 'the leftovers were swept');
  t.equal((await readdir(scratch)).length, 1, 'the dead claim was replaced by the new one');
  next.child.kill('SIGTERM');
  t.equal(await next.exited, 0);
  t.same(await readdir(scratch), [], 'the claim is released at exit');
});
