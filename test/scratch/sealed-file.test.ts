import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { open } from '../../src/scratch/aead.js';
import { SealedFileWriter } from '../../src/scratch/sealed-file.js';

const PLAINTEXT = Buffer.from('a red square in the rain, as a PNG would carry it');

t.test('the key copy is zeroed as soon as the writer exists, and the file opens under the original key', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'infernode-sealed-'));
  const key = randomBytes(32);
  const copy = new Uint8Array(key);
  const writer = new SealedFileWriter({ file: path.join(dir, 'out-0.sealed'), key: copy });
  t.ok(copy.every((b) => b === 0), 'zeroed before any plaintext exists');
  const sizes = writer.write(PLAINTEXT);
  const onDisk = await readFile(path.join(dir, 'out-0.sealed'));
  t.same(sizes, { bytes: PLAINTEXT.length, sealedBytes: onDisk.length });
  t.equal(onDisk.indexOf(PLAINTEXT.subarray(0, 12)), -1, 'no plaintext on disk');
  t.same(open(key, onDisk), PLAINTEXT);
  t.equal((await stat(path.join(dir, 'out-0.sealed'))).mode & 0o777, 0o600);
});

t.test('a file that cannot be created fails the write', async (t) => {
  const writer = new SealedFileWriter({ file: path.join(os.tmpdir(), 'no-such-dir-infernode', 'out-0.sealed'), key: randomBytes(32) });
  t.throws(() => writer.write(PLAINTEXT), { code: 'ENOENT' });
});
