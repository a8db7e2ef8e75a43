import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rmdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ScratchRootClaimed, claimScratchRoot } from '../../src/scratch/scratch-claim.js';
import { resolveScratchRoot } from '../../src/scratch/scratch-root.js';

const CLAIM_MODULE = new URL('../../src/scratch/scratch-claim.js', import.meta.url).href;
const newRoot = () => mkdtemp(path.join(os.tmpdir(), 'infernode-claim-'));

/** Another process that claims `root` and holds it until killed. */
async function holder(root: string) {
  const code = `const { claimScratchRoot } = await import(${JSON.stringify(CLAIM_MODULE)}); await claimScratchRoot(process.argv[1]); console.log('claimed'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, root], { stdio: ['ignore', 'pipe', 'inherit'] });
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
  const claim = await claimScratchRoot(root);
  const [mine] = await readdir(root);
  t.match(mine, new RegExp(`^\\.claim-${process.pid}-`), 'the dead one\'s claim is gone, ours is there');
  await claim.release();
  t.same(await readdir(root), []);
});

t.test('a claim whose pid lives on in another process (a reused pid) is stale', async (t) => {
  const root = await newRoot();
  await writeFile(path.join(root, `.claim-${process.ppid}-1`), '');
  const claim = await claimScratchRoot(root);
  t.equal((await readdir(root)).length, 1);
  await claim.release();
});

t.test('daemons on --port 0 get default roots of their own', async (t) => {
  const zero = await resolveScratchRoot(null, 0);
  const fixed = await resolveScratchRoot(null, 18539);
  t.teardown(() => Promise.all([rmdir(zero.dir), rmdir(fixed.dir)]));
  t.equal(path.basename(zero.dir), `infernode-0-${process.pid}`);
  t.equal(path.basename(fixed.dir), 'infernode-18539');
});
