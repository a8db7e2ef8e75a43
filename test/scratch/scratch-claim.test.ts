import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ScratchRootClaimed, claimScratchRoot } from '../../src/scratch/scratch-claim.js';
import { resolveScratchRoot } from '../../src/scratch/scratch-root.js';

const CLAIM_MODULE = new URL('../../src/scratch/scratch-claim.js', import.meta.url).href;
const newRoot = () => mkdtemp(path.join(os.tmpdir(), 'infernode-claim-'));

/** Another process's attempt to claim `root`: 'claimed' (it then holds it for a second), or 'refused'. */
async function claimInChild(root: string, wrapper: string[] = []): Promise<string> {
  const code = `const { claimScratchRoot } = await import(${JSON.stringify(CLAIM_MODULE)}); try { await claimScratchRoot(process.argv[1]); console.log('claimed'); setTimeout(() => {}, 1000); } catch { console.log('refused'); }`;
  const [command, ...args] = [...wrapper, process.execPath, '--input-type=module', '-e', code, root];
  const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
}

/** Another process that claims `root` and holds it until killed. */
async function holder(root: string, wrapper: string[] = []) {
  const code = `const { claimScratchRoot } = await import(${JSON.stringify(CLAIM_MODULE)}); await claimScratchRoot(process.argv[1]); console.log('claimed'); setInterval(() => {}, 1000);`;
  const [command, ...args] = [...wrapper, process.execPath, '--input-type=module', '-e', code, root];
  const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { child, exited };
}

t.test('a root that a live process holds is refused, naming its pid, and keeps its claim', async (t) => {
  const root = await newRoot();
  const other = await holder(root);
  t.teardown(() => other.child.kill('SIGKILL'));
  const err = await claimScratchRoot(root).catch((e: unknown) => e);
  t.ok(err instanceof ScratchRootClaimed);
  t.equal((err as ScratchRootClaimed).pid, other.child.pid);
  t.equal((await readdir(root)).length, 1, 'only the holder\'s claim is left');
});

t.test('the claim of a process killed with -9 is taken over, and released on release()', async (t) => {
  const root = await newRoot();
  const other = await holder(root);
  other.child.kill('SIGKILL');
  await other.exited;
  t.same(await readdir(root), ['.claim.sock'], 'the dead one left its socket behind');
  const claim = await claimScratchRoot(root);
  const again = await claimScratchRoot(root).catch((e: unknown) => e);
  t.equal((again as ScratchRootClaimed).pid, process.pid, 'the root is ours now');
  await claim.release();
  t.same(await readdir(root), []);
});

const pidNamespaces = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;

t.test('two daemons that are both pid 1 (two containers on one volume): the second is refused', { skip: pidNamespaces ? false : 'unshare --pid is not permitted here' }, async (t) => {
  const root = await newRoot();
  const first = await holder(root, ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child']);
  t.teardown(() => first.child.kill('SIGKILL'));
  t.equal(await claimInChild(root, ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child']), 'refused');
});

t.test('of many claims at once, exactly one wins', async (t) => {
  const root = await newRoot();
  const claims = await Promise.allSettled(Array.from({ length: 8 }, () => claimInChild(root)));
  t.equal(claims.filter((c) => c.status === 'fulfilled' && c.value === 'claimed').length, 1);
});

t.test('a root whose path is too long for a socket is refused with the reason', async (t) => {
  const root = path.join(await newRoot(), 'x'.repeat(100));
  await mkdir(root);
  t.rejects(claimScratchRoot(root), { message: /too long a path/ });
});

t.test('daemons on --port 0 get default roots of their own', async (t) => {
  const zero = await resolveScratchRoot(null, 0);
  const fixed = await resolveScratchRoot(null, 18539);
  t.teardown(() => Promise.all([rmdir(zero.dir), rmdir(fixed.dir)]));
  t.equal(path.basename(zero.dir), `infernode-0-${process.pid}`);
  t.equal(path.basename(fixed.dir), 'infernode-18539');
});
