import t from 'tap';
import { mkdtemp, mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli, spawnDaemon } from '../../bench/lib/daemon-process.js';
import { fixtureModelsDir } from '../helpers/fixtures.js';
import { isClaimFile } from '../../src/scratch/scratch-claim.js';

t.test('--help documents every flag and exits 0', async (t) => {
  const res = await runCli(['--help']);
  t.equal(res.code, 0);
  t.match(res.stdout, /--models-dir <value>/);
  t.match(res.stdout, /INFERNODE_MODELS_DIR/);
});

t.test('a bad flag or value prints one line naming it and exits 2', async (t) => {
  for (const args of [['serve', '--bogus'], ['serve', '--port', 'abc'], ['serve', '--device', 'tpu:0'], ['nonsense']]) {
    const res = await runCli(args);
    t.equal(res.code, 2, args.join(' '));
    t.equal(res.stderr.trim().split('\n').length, 1, 'one line');
    t.match(res.stderr, /^infernode: /);
  }
});

t.test('a bad environment value is refused like a flag', async (t) => {
  const res = await runCli(['serve'], { INFERNODE_QUEUE_SIZE: 'lots' });
  t.equal(res.code, 2);
  t.match(res.stderr, /--queue-size/);
});

t.test('--device cuda:0 without the CUDA provider stops with a clear message', async (t) => {
  const res = await runCli(['serve', '--device', 'cuda:0', '--port', '0', '--models-dir', os.tmpdir()]);
  t.equal(res.code, 2);
  t.match(res.stderr, /CUDA execution provider/);
  t.match(res.stderr, /ONNXRUNTIME_NODE_INSTALL=cuda12/);
});

t.test('a non-loopback address without tokens is refused unless --insecure-no-auth', async (t) => {
  const res = await runCli(['serve', '--host', '0.0.0.0', '--port', '0']);
  t.equal(res.code, 2);
  t.match(res.stderr, /token/i);
});

t.test('SIGTERM erases scratch (leftovers of a crash too) and exits 0', async (t) => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'infernode-cli-'));
  const scratch = path.join(tmp, 'scratch');
  await mkdir(path.join(scratch, 'job_LEFTOVER'), { recursive: true });
  await writeFile(path.join(scratch, 'job_LEFTOVER', 'in-0.sealed'), 'from a kill -9');
  const daemon = await spawnDaemon(['--models-dir', await fixtureModelsDir(['tiny-tensor']), '--scratch-dir', scratch, '--device', 'cpu']);
  let ready = 0;
  for (let i = 0; i < 200 && ready !== 200; i++) {
    ready = (await fetch(`${daemon.url}/readyz`)).status;
    if (ready !== 200) await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(ready, 200);
  t.same((await readdir(scratch)).filter((name) => !isClaimFile(name)), [], 'the start-up sweep erased the leftovers before ready');
  const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
  t.match(metrics, /infernode_scratch_erasures_total\{reason="startup_sweep"\} 1/);
  daemon.child.kill('SIGTERM');
  t.equal(await daemon.exited, 0);
  t.same(await readdir(scratch), []);
  t.match(daemon.output(), /shut down; scratch erased/);
});

t.test('SIGTERM lets a running job finish, refuses new ones with 503 draining, and exits 0', async (t) => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'infernode-cli-'));
  const daemon = await spawnDaemon(['--models-dir', await fixtureModelsDir(['tiny-tensor', 'busy-tensor']), '--scratch-dir', path.join(tmp, 's'), '--device', 'cpu', '--drain-timeout', '60']);
  for (let i = 0; i < 200 && (await fetch(`${daemon.url}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
  const busy = {
    type: 'tensor',
    model: 'busy-tensor',
    input: { inputs: [{ name: 'input', datatype: 'FP32', shape: [8, 512], data: new Array(4096).fill(0.5) }, { name: 'iterations', datatype: 'INT64', shape: [1], data: [15000] }] },
  };
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${daemon.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const running = post(busy, { prefer: 'wait=120' });
  for (let i = 0; i < 200; i++) {
    const text = await (await fetch(`${daemon.url}/metrics`)).text();
    if (/infernode_jobs_running\{device="cpu"\} 1/.test(text)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  daemon.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  const refused = await post(busy);
  t.equal(refused.status, 503);
  t.equal(((await refused.json()) as { error: { code: string } }).error.code, 'draining');
  const finished = (await (await running).json()) as { status: string };
  t.equal(finished.status, 'succeeded', 'the running job finished inside the grace period');
  t.equal(await daemon.exited, 0);
});
