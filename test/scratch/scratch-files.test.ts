import t from 'tap';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AT_ONCE_BYTES, memoryFiles, pooledFiles } from '../../src/scratch/scratch-files.js';

const parts = [Buffer.from('iv-bytes'), Buffer.from('ciphertext '.repeat(1000)), Buffer.from('tag')];
const whole = Buffer.concat(parts);
const big = [Buffer.alloc(12, 1), Buffer.alloc(AT_ONCE_BYTES, 2), Buffer.alloc(16, 3)];
const scratchDir = () => mkdtemp(path.join(os.tmpdir(), 'infernode-files-'));

for (const [strategy, files] of [['memory', memoryFiles], ['pooled', pooledFiles]] as const) {
  t.test(`${strategy}: parts land in order in a 0600 file under a 0700 directory, and are removed`, async (t) => {
    const dir = path.join(await scratchDir(), 'job_A');
    await files.makeDir(dir);
    t.equal(statSync(dir).mode & 0o777, 0o700);
    for (const [name, written] of [['small', parts], ['large', big]] as const) {
      const file = path.join(dir, `${name}.sealed`);
      await files.write(file, written);
      t.equal(statSync(file).mode & 0o777, 0o600, name);
      t.same(await files.read(file, Buffer.concat(written).length), Buffer.concat(written), name);
    }
    await files.remove(dir);
    t.notOk(existsSync(dir));
    await files.remove(dir);
  });
}

/** file-system requests handed to libuv's pool and not yet answered */
const poolRequests = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('FSReq')).length;

t.test("memory: a small file is written before write() returns, with no trip through libuv's pool", async (t) => {
  const file = path.join(await scratchDir(), 'in-0.sealed');
  const before = poolRequests();
  const written = memoryFiles.write(file, parts);
  t.equal(poolRequests() - before, 0, 'nothing handed to the pool');
  t.equal(statSync(file).size, whole.length, 'complete before any other work could run');
  await written;
});

t.test('memory: a file over AT_ONCE_BYTES goes through the pool, so the event loop never copies it', async (t) => {
  const file = path.join(await scratchDir(), 'out-0.sealed');
  const before = poolRequests();
  const written = memoryFiles.write(file, big);
  t.equal(poolRequests() - before, 1, 'its open is in the pool');
  await written;
  t.equal(statSync(file).size, Buffer.concat(big).length);
});

t.test('a write that fails leaves the error to the job', async (t) => {
  const missing = path.join(os.tmpdir(), 'infernode-no-such-dir', 'x', 'f.sealed');
  await t.rejects(memoryFiles.write(missing, parts), { code: 'ENOENT' });
  await t.rejects(pooledFiles.write(missing, parts), { code: 'ENOENT' });
});
