import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { nativeStatus } from '../../src/native/addon.js';
import { allocateKeySlab, lockKeyBuffer, secureZero } from '../../src/native/secure-memory.js';

t.test('the native addon is what runs in these tests', async (t) => {
  t.equal(nativeStatus().implementation, 'native', nativeStatus().reason);
});

t.test('secureZero zeroes exactly the bytes of a view', async (t) => {
  const key = Buffer.from('0123456789abcdef');
  secureZero(key.subarray(4, 8));
  t.same([...key.subarray(3, 9)], [0x33, 0, 0, 0, 0, 0x38]);
});

t.test('secureZero zeroes a Uint8Array and accepts an empty one', async (t) => {
  const bytes = Uint8Array.from({ length: 4099 }, (_, i) => i | 1);
  secureZero(bytes);
  t.ok(bytes.every((b) => b === 0));
  t.doesNotThrow(() => secureZero(new Uint8Array(0)));
});

t.test('secureZero passes over a buffer transferred to another thread, as the JS fallback does', async (t) => {
  const pixels = new Uint8Array(16).fill(7);
  structuredClone(pixels.buffer, { transfer: [pixels.buffer] });
  t.doesNotThrow(() => secureZero(pixels));
});

t.test('secureZero refuses anything but bytes', async (t) => {
  t.throws(() => secureZero(new Float32Array(4) as unknown as Uint8Array), { name: 'TypeError' });
});

t.test('a key slab is a zeroed, writable Buffer of the requested size', async (t) => {
  const slab = allocateKeySlab(100);
  t.ok(Buffer.isBuffer(slab));
  t.equal(slab.length, 100);
  t.ok(slab.every((b) => b === 0));
  slab.write('secret');
  t.equal(slab.subarray(0, 6).toString(), 'secret');
});

t.test('a key slab of a bad size is refused', async (t) => {
  t.throws(() => allocateKeySlab(0), { name: 'RangeError' });
  t.throws(() => allocateKeySlab(1.5), { name: 'RangeError' });
});

t.test('locking a key slab succeeds where the system allows it', async (t) => {
  const outcome = lockKeyBuffer(allocateKeySlab(4096));
  if (!outcome.locked) t.match(outcome.reason, /mlock|madvise/);
  else t.pass('locked');
});

// A child without CAP_IPC_LOCK and with RLIMIT_MEMLOCK at 0, where mlock must fail.
const canDropLockRights = ['setpriv', 'prlimit'].every((tool) => spawnSync('which', [tool]).status === 0);

t.test('a refused lock names mlock and is reported as first only once', { skip: !canDropLockRights && 'needs setpriv and prlimit' }, async (t) => {
  const script = `
    const m = await import(${JSON.stringify(new URL('../../src/native/secure-memory.js', import.meta.url).href)});
    const slab = m.allocateKeySlab(4096);
    console.log(JSON.stringify([m.lockKeyBuffer(slab), m.lockKeyBuffer(slab)]));`;
  const out = execFileSync('prlimit', ['--memlock=0:0', 'setpriv', '--inh-caps=-all', '--bounding-set=-ipc_lock', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
  const [first, second] = JSON.parse(out) as Array<{ locked: boolean; reason: string; firstRefusal: boolean }>;
  t.match(first, { locked: false, firstRefusal: true, reason: /key memory is not fully protected: mlock: / });
  t.match(second, { locked: false, firstRefusal: false });
});
