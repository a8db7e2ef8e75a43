import t from 'tap';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BIN, runCli, spawnDaemon, type DaemonProcess } from '../../bench/lib/daemon-process.js';
import { fixtureModelsDir } from '../helpers/fixtures.js';
import { isClaimFile } from '../../src/scratch/scratch-claim.js';

const untilReady = async (url: string): Promise<void> => {
  for (let i = 0; i < 400 && (await fetch(`${url}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
};
/** where the daemon puts its default root */
const SHM = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
const port0Root = (pid: number): string => path.join(SHM, `infernode-0-${pid}`);

/** `infernode serve --port 0`, resolved once it is ready: its start-up sweep is over (its port is nobody's business here) */
async function spawnOnPort0(models: string): Promise<DaemonProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--models-dir', models, '--device', 'cpu'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve((exitCode = code))));
  while (!output.includes('"node ready"')) {
    if (exitCode !== undefined) throw new Error(`daemon exited with ${exitCode} before it was ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, url: '', output: () => output, exited };
}

/** a root as a daemon leaves it, with one job's leftovers */
async function leftoverIn(root: string): Promise<string> {
  await mkdir(path.join(root, 'job_LEFTOVER'), { recursive: true });
  await writeFile(path.join(root, 'job_LEFTOVER', 'in-0.sealed'), 'from a daemon on --port 0');
  return path.join(root, 'job_LEFTOVER');
}

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

t.test('a daemon on a default root reaps the roots of dead daemons on --port 0, and nothing else', async (t) => {
  const models = await fixtureModelsDir(['tiny-tensor']);
  // the live one first: on its default root it reaps too
  const live = await spawnOnPort0(models);
  const liveRoot = port0Root(live.child.pid!);
  const killed = await spawnOnPort0(models);
  const killedRoot = port0Root(killed.child.pid!);
  // a job of the live daemon, as far as a reaper can tell
  const liveJob = await leftoverIn(liveRoot);
  await leftoverIn(killedRoot);
  killed.child.kill('SIGKILL');
  await killed.exited;
  // roots with no claim: one named for a pid that runs nothing is dead; one named for a pid that runs (this test's)
  // may be a daemon that has made its root and not claimed it yet
  const gone = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => gone.once('exit', resolve));
  const unclaimedDead = port0Root(gone.pid!);
  await leftoverIn(unclaimedDead);
  const unclaimedRunning = await leftoverIn(port0Root(process.pid));
  const otherName = await leftoverIn(`${unclaimedDead}.old`);
  t.teardown(async () => {
    live.child.kill('SIGKILL');
    await live.exited;
    for (const dir of [killedRoot, liveRoot, unclaimedDead, port0Root(process.pid), `${unclaimedDead}.old`]) await rm(dir, { recursive: true, force: true });
  });

  const explicit = await spawnDaemon(['--models-dir', models, '--device', 'cpu', '--scratch-dir', path.join(await mkdtemp(path.join(os.tmpdir(), 'infernode-cli-')), 'scratch')]);
  await untilReady(explicit.url);
  explicit.child.kill('SIGTERM');
  t.equal(await explicit.exited, 0);
  t.ok(existsSync(killedRoot) && existsSync(unclaimedDead), 'a daemon given --scratch-dir reaps nothing');

  const reaper = await spawnDaemon(['--models-dir', models, '--device', 'cpu']);
  await untilReady(reaper.url);
  t.notOk(existsSync(killedRoot), 'the killed daemon\'s root is gone, before ready');
  t.notOk(existsSync(unclaimedDead), 'so is an unclaimed root named for a pid that runs nothing');
  t.match(await (await fetch(`${reaper.url}/metrics`)).text(), /infernode_scratch_erasures_total\{reason="startup_sweep"\} 2/, 'their jobs count as swept');
  t.ok(existsSync(liveJob), 'the live daemon\'s job is untouched');
  t.ok(existsSync(path.join(liveRoot, '.claim.sock')), 'and so is its claim');
  t.ok(existsSync(unclaimedRunning), 'an unclaimed root named for a pid that runs is left');
  t.ok(existsSync(otherName), 'a directory not named like a root is left');
  reaper.child.kill('SIGTERM');
  t.equal(await reaper.exited, 0);
  live.child.kill('SIGTERM');
  t.equal(await live.exited, 0, 'the live daemon stayed healthy');
});
