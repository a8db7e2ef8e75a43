import t from 'tap';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BIN } from '../../bench/lib/daemon-process.js';

/**
 * root writes anywhere: as root, the daemon runs as nobody to meet a directory it may not write (without tap's
 * process-info hook, which would write under the test's own directory)
 */
const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

function serve(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const command = [process.execPath, BIN, 'serve', '--port', '0', '--device', 'cpu', ...args];
    const child = asRoot ? spawn('env', ['-u', 'NODE_OPTIONS', ...command], { uid: NOBODY, gid: NOBODY }) : spawn(command[0]!, command.slice(1));
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.resume();
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

/** a directory others may read: the models dir and the parent of the scratch dirs */
async function openDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'infernode-root-'));
  await chmod(dir, 0o755);
  return dir;
}

t.test('an existing scratch dir the daemon cannot write stops it with one line and exit 2', async (t) => {
  const base = await openDir();
  const models = path.join(base, 'models');
  await mkdir(models, { mode: 0o755 });
  const scratch = path.join(base, 'read-only');
  await mkdir(scratch, { mode: asRoot ? 0o755 : 0o500 });
  const res = await serve(['--models-dir', models, '--scratch-dir', scratch]);
  t.equal(res.code, 2);
  t.equal(res.stderr, `infernode: --scratch-dir: ${scratch} is not writable (EACCES)\n`);
});

t.test('a scratch dir that is a file, under a file, under an unwritable parent or refused by its file system is one line and exit 2', async (t) => {
  const base = await openDir();
  const models = path.join(base, 'models');
  await mkdir(models, { mode: 0o755 });
  const file = path.join(base, 'a-file');
  await writeFile(file, '');
  const locked = path.join(base, 'locked');
  await mkdir(locked, { mode: asRoot ? 0o755 : 0o500 });
  const cases: Array<[string, string]> = [
    [file, `${file} is not a directory`],
    [path.join(file, 'scratch'), `${path.join(file, 'scratch')} cannot be created: ${file} is not a directory`],
    [path.join(locked, 'scratch'), `${path.join(locked, 'scratch')} cannot be created (EACCES)`],
    // Node's recursive mkdir spins for good on /proc
    ['/proc/infernode-scratch', '/proc/infernode-scratch cannot be created (ENOENT)'],
  ];
  for (const [scratch, why] of cases) {
    const res = await serve(['--models-dir', models, '--scratch-dir', scratch]);
    t.equal(res.code, 2, scratch);
    t.equal(res.stderr, `infernode: --scratch-dir: ${why}\n`);
  }
});
