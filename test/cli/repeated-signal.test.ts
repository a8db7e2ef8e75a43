import t from 'tap';
import { mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnDaemon } from '../../bench/lib/daemon-process.js';
import { fixtureModelsDir } from '../helpers/fixtures.js';
import { isClaimFile } from '../../src/scratch/scratch-claim.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('SIGHUP drains as SIGTERM does, and the signals after it are ignored: the running job finishes, scratch is erased, exit 0', async (t) => {
  const scratch = path.join(await mkdtemp(path.join(os.tmpdir(), 'infernode-cli-')), 'scratch');
  const models = await fixtureModelsDir(['busy-tensor']);
  const daemon = await spawnDaemon(['--models-dir', models, '--scratch-dir', scratch, '--device', 'cpu', '--drain-timeout', '60'], {}, ['env', '-u', 'NODE_OPTIONS']);
  t.teardown(() => daemon.child.kill('SIGKILL'));
  for (let i = 0; i < 200 && (await fetch(`${daemon.url}/readyz`)).status !== 200; i++) await sleep(50);
  // the input tensor is an upload, so the running job has its input in scratch
  const form = new FormData();
  form.append('job', JSON.stringify({
    type: 'tensor',
    model: 'busy-tensor',
    input: { inputs: [{ name: 'input', datatype: 'FP32', shape: [8, 512], data: 'file:x' }, { name: 'iterations', datatype: 'INT64', shape: [1], data: [20000] }] },
  }));
  form.append('x', new Blob([new Float32Array(4096).fill(0.5)]), 'x');
  const running = fetch(`${daemon.url}/v1/jobs`, { method: 'POST', headers: { prefer: 'wait=120' }, body: form });
  for (let i = 0; i < 200 && !/infernode_jobs_running\{device="cpu"\} 1/.test(await (await fetch(`${daemon.url}/metrics`)).text()); i++) await sleep(20);
  t.equal((await readdir(scratch)).filter((n) => !isClaimFile(n)).length, 1, 'the job input is in scratch');
  for (const signal of ['SIGHUP', 'SIGTERM', 'SIGINT'] as const) {
    daemon.child.kill(signal);
    await sleep(150);
  }
  t.equal(((await (await running).json()) as { status: string }).status, 'succeeded');
  t.equal(await daemon.exited, 0);
  t.same(await readdir(scratch), []);
  t.equal(daemon.output().split('signal ignored: the drain is in progress').length - 1, 1, 'said once');
});
