import t from 'tap';

// Before the first import of the addon loader, as at start-up.
process.env.INFERNODE_NATIVE = '0';
const { ADDON_PATH, loadAddon, nativeStatus } = await import('../../src/native/addon.js');
const { float16ToFloat32, float32ToFloat16, imageToTensor, tensorToImage } = await import('../../src/native/kernels.js');
const { allocateKeySlab, lockKeyBuffer, secureZero } = await import('../../src/native/secure-memory.js');
const { openNvml } = await import('../../src/native/nvml.js');

t.test('INFERNODE_NATIVE=0 selects the JS kernels and says so', async (t) => {
  t.same(nativeStatus(), { implementation: 'js', reason: 'INFERNODE_NATIVE=0 selects the JS kernels' });
});

t.test('an addon that cannot load falls back to JS with the reason', async (t) => {
  const { addon, status } = loadAddon(undefined, '/nonexistent/infernode_native.node');
  t.equal(addon, null);
  t.equal(status.implementation, 'js');
  t.match(status.reason, /cannot load .*nonexistent.*using the JS kernels/);
});

t.test('INFERNODE_NATIVE=1 makes a load failure fatal', async (t) => {
  t.throws(() => loadAddon('1', '/nonexistent/infernode_native.node'), { message: /INFERNODE_NATIVE=1 but the native addon cannot load/ });
});

t.test('the addon path points at the node-gyp output', async (t) => {
  t.match(ADDON_PATH, /build\/Release\/infernode_native\.node$/);
});

t.test('the JS kernels convert images, halves and tensors', async (t) => {
  const tensor = imageToTensor(Uint8Array.of(0, 255, 51), 1, 1, 3, { dtype: 'float16', scale: [2 / 255, 2 / 255, 2 / 255], offset: [-1, -1, -1] });
  t.same([...float16ToFloat32(tensor)], [-1, 1, -0.60009765625]);
  t.same([...float32ToFloat16(Float32Array.of(65520, 2 ** -25, 0.1))], [0x7c00, 0, 0x2e66]);
  t.same([...tensorToImage(Float32Array.of(-1, 0, 1), 0, 3, 1, 1)], [0, 128, 255]);
});

t.test('secureZero without the addon passes over a buffer transferred to another thread', async (t) => {
  const pixels = new Uint8Array(16).fill(7);
  structuredClone(pixels.buffer, { transfer: [pixels.buffer] });
  t.doesNotThrow(() => secureZero(pixels), 'an image handed to the media pool, zeroed after a failed encode');
});

t.test('secureZero zeroes without the addon', async (t) => {
  const key = Buffer.from('0123456789abcdef');
  secureZero(key.subarray(4, 8));
  t.same([...key.subarray(3, 9)], [0x33, 0, 0, 0, 0, 0x38]);
});

t.test('without the addon a key slab is a zeroed Buffer and locking is refused, reported once', async (t) => {
  const slab = allocateKeySlab(64);
  t.ok(Buffer.isBuffer(slab));
  t.same([...slab], new Array(64).fill(0));
  const first = lockKeyBuffer(slab);
  const second = lockKeyBuffer(slab);
  t.match(first, { locked: false, firstRefusal: true, reason: /native addon is not loaded/ });
  t.match(second, { locked: false, firstRefusal: false });
});

t.test('without the addon there is no NVML, with the reason', async (t) => {
  t.same(openNvml('/anything'), { nvml: null, reason: 'no GPU telemetry: the native addon is not loaded' });
});
