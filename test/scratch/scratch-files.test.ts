import t from 'tap';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inlineFiles, pooledFiles } from '../../src/scratch/scratch-files.js';

const parts = [Buffer.from('iv-bytes'), Buffer.from('ciphertext '.repeat(1000)), Buffer.from('tag')];

for (const [strategy, files] of [['inline', inlineFiles], ['pooled', pooledFiles]] as const) {
  t.test(`${strategy}: parts land in order in a 0600 file under a 0700 directory, and are removed`, async (t) => {
    const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'infernode-files-')), 'job_A');
    await files.makeDir(dir);
    t.equal(statSync(dir).mode & 0o777, 0o700);
    const file = path.join(dir, 'out-0.sealed');
    await files.write(file, parts);
    t.equal(statSync(file).mode & 0o777, 0o600);
    t.same(await files.read(file), Buffer.concat(parts));
    await files.remove(dir);
    t.notOk(existsSync(dir));
    await files.remove(dir);
  });
}

t.test('inline: the file is written before write() returns, with no trip through libuv\'s pool', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'infernode-files-'));
  const file = path.join(dir, 'in-0.sealed');
  const written = inlineFiles.write(file, parts);
  t.equal(statSync(file).size, Buffer.concat(parts).length, 'complete before any other work could run');
  await written;
});

t.test('a write that fails leaves the error to the job', async (t) => {
  const missing = path.join(os.tmpdir(), 'infernode-no-such-dir', 'x', 'f.sealed');
  await t.rejects(inlineFiles.write(missing, parts), { code: 'ENOENT' });
  await t.rejects(pooledFiles.write(missing, parts), { code: 'ENOENT' });
});
