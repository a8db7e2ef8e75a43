import t from 'tap';
import { pbkdf2 } from 'node:crypto';
import { mkdtemp, readdir, readFile, stat, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ScratchStore, type ErasureReason } from '../../src/scratch/scratch-store.js';
import { memoryFiles, pooledFiles, type ScratchFiles } from '../../src/scratch/scratch-files.js';
import { SealedFileWriter } from '../../src/scratch/sealed-file.js';

async function store(files: ScratchFiles) {
  const root = await mkdtemp(path.join(os.tmpdir(), 'infernode-scratch-'));
  const counts: Record<string, number> = {};
  let usage = 0;
  let failures = 0;
  const s = new ScratchStore(root, {
    usage: (b) => (usage = b),
    erased: (r: ErasureReason) => (counts[r] = (counts[r] ?? 0) + 1),
    eraseFailed: () => failures++,
  }, files);
  return { root, s, counts, usage: () => usage, failures: () => failures };
}

const CANARY = Buffer.from('canary-plaintext-7f3a9 a red square in the rain');

// tmpfs roots write small files on the calling thread, disk roots through libuv's pool: the same behaviour either way
for (const [strategy, io] of [['memory', memoryFiles], ['pooled', pooledFiles]] as const) {
  t.test(`${strategy}: what a job writes is ciphertext on disk, in a 0700 directory, and reads back`, async (t) => {
    const { s } = await store(io);
    const job = s.forJob('job_A');
    await job.inputs.write('init', 'image/png', CANARY);
    const files = await readdir(job.dir);
    t.equal(files.length, 1);
    t.notOk(files[0]!.includes('init'), 'the part name does not reach the disk');
    const onDisk = await readFile(path.join(job.dir, files[0]!));
    t.equal(onDisk.indexOf(CANARY.subarray(0, 16)), -1, 'no plaintext on disk');
    t.equal((await stat(job.dir)).mode & 0o777, 0o700);
    t.same(await job.inputs.read('init'), CANARY);
  });

  t.test(`${strategy}: streams are encrypted as they arrive and refused past the limit with nothing left`, async (t) => {
    const { s, usage } = await store(io);
    const job = s.forJob('job_B');
    const n = await job.inputs.writeStream('up', 'application/octet-stream', Readable.from([CANARY, CANARY]), 1000, () => new Error('too big'));
    t.equal(n, CANARY.length * 2);
    t.same(await job.inputs.read('up'), Buffer.concat([CANARY, CANARY]));
    await t.rejects(job.inputs.writeStream('big', 'x', Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), 1000, () => new Error('too big')), /too big/);
    t.equal((await readdir(job.dir)).length, 1, 'the refused upload left no file');
    await job.eraseAll('deleted');
    t.equal(usage(), 0);
  });

  t.test(`${strategy}: a stream refused while libuv's pool is busy leaves no file once its open comes through`, async (t) => {
    const { s } = await store(io);
    const job = s.forJob('job_G');
    await job.inputs.write('first', 'x', CANARY);
    // every pool thread busy: the upload's file opens only after the limit has refused it
    const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const busy = Array.from({ length: 2 * threads }, () => new Promise((resolve) => pbkdf2('k', 's', 100_000, 32, 'sha256', resolve)));
    await t.rejects(job.inputs.writeStream('big', 'x', Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), 1000, () => new Error('too big')), /too big/);
    await Promise.all(busy);
    t.equal((await readdir(job.dir)).length, 1, 'only the first file is there');
    await job.eraseAll('deleted');
  });

  t.test(`${strategy}: inputs are erased apart from outputs, and erasure counts by reason`, async (t) => {
    const { s, counts, usage } = await store(io);
    const job = s.forJob('job_C');
    await job.inputs.write('in', 'text/plain', CANARY);
    await job.outputs.write('out.png', 'image/png', Buffer.from('png bytes'));
    await job.eraseInputs('finished');
    t.equal((await readdir(job.dir)).length, 1);
    await t.rejects(job.inputs.read('in'));
    t.same(await job.outputs.read('out.png'), Buffer.from('png bytes'));
    await job.eraseAll('expired');
    await t.rejects(stat(job.dir), 'the job directory is gone');
    t.same(counts, { finished: 1, expired: 1 });
    t.equal(usage(), 0);
  });

  t.test(`${strategy}: the start-up sweep erases what an earlier process left`, async (t) => {
    const { root, s, counts } = await store(io);
    await mkdir(path.join(root, 'job_OLD'));
    await writeFile(path.join(root, 'job_OLD', 'in-0.sealed'), 'left by a crash');
    t.same(await s.sweep(), { swept: 1, left: 0 });
    t.same(await readdir(root), []);
    t.same(counts, { startup_sweep: 1 });
  });

  t.test(`${strategy}: the sweep erases only job directories, not what else shares the root`, async (t) => {
    const { root, s } = await store(io);
    await mkdir(path.join(root, 'job_OLD'));
    await mkdir(path.join(root, 'someone-elses-cache'));
    await writeFile(path.join(root, 'notes.txt'), 'not the node\'s');
    t.same(await s.sweep(), { swept: 1, left: 2 });
    t.same((await readdir(root)).sort(), ['notes.txt', 'someone-elses-cache']);
  });

  t.test(`${strategy}: writes in flight together each keep their own file and read back`, async (t) => {
    const { s } = await store(io);
    const job = s.forJob('job_E');
    const first = Buffer.alloc(256 * 1024, 1);
    const second = Buffer.alloc(256 * 1024, 2);
    await Promise.all([job.outputs.write('image-0.png', 'image/png', first), job.outputs.write('image-1.png', 'image/png', second)]);
    t.equal((await readdir(job.dir)).length, 2);
    t.same(await job.outputs.read('image-0.png'), first);
    t.same(await job.outputs.read('image-1.png'), second);
  });

  t.test(`${strategy}: an output sealed by another writer is stored under the vault's key, whose copy is zeroed`, async (t) => {
    const { s, usage } = await store(io);
    const job = s.forJob('job_G');
    let handed: Uint8Array | null = null;
    const sizes = await job.outputs.writeVia('image-0.png', 'image/png', async (target) => {
      handed = target.key;
      return new SealedFileWriter({ file: target.file, key: new Uint8Array(target.key) }).write(CANARY);
    });
    t.same(await job.outputs.read('image-0.png'), CANARY, 'the vault opens what was sealed with the copy');
    t.same(job.outputs.get('image-0.png'), { file: path.join(job.dir, 'out-0.sealed'), contentType: 'image/png', bytes: CANARY.length, sealedBytes: sizes.sealedBytes });
    t.equal(usage(), sizes.sealedBytes);
    t.ok(handed!.every((b) => b === 0), 'the copy that never left this thread is zeroed');
    // as the media pool does: the copy moves to a worker, and is detached here
    await job.outputs.writeVia('image-1.png', 'image/png', async (target) => {
      const moved = structuredClone(target.key, { transfer: [target.key.buffer as ArrayBuffer] });
      return new SealedFileWriter({ file: target.file, key: moved }).write(CANARY);
    });
    t.same(await job.outputs.read('image-1.png'), CANARY);
  });

  t.test(`${strategy}: a failed sealed write leaves no file and no entry`, async (t) => {
    const { s } = await store(io);
    const job = s.forJob('job_H');
    await t.rejects(
      job.outputs.writeVia('image-0.png', 'image/png', async (target) => {
        new SealedFileWriter(target).write(CANARY);
        throw new Error('encoder failed');
      }),
      /encoder failed/,
    );
    t.notOk(job.outputs.has('image-0.png'));
    t.same(await readdir(job.dir), []);
  });

  t.test(`${strategy}: a job that wrote nothing leaves no directory and erases cleanly`, async (t) => {
    const { s, failures } = await store(io);
    const job = s.forJob('job_F');
    await job.eraseInputs('finished');
    await job.eraseAll('finished');
    await t.rejects(stat(job.dir));
    t.equal(failures(), 0);
  });
}
