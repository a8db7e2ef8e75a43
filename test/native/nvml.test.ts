import t from 'tap';
import { nativeStatus } from '../../src/native/addon.js';
import { openNvml } from '../../src/native/nvml.js';
import { buildFakeNvml, setFakeGpus } from './fake-nvml/build.js';

const fake = buildFakeNvml();
t.teardown(fake.remove);
t.beforeEach(() => {
  delete process.env.FAKE_NVML_INIT_ERROR;
});

const H200 = { name: 'NVIDIA H200', uuid: 'GPU-5e7c1b3a-0000-4000-8000-000000000001', util: 37, mem_used: 81604378624, mem_total: 150754820096, temp: 45, power_mw: 312456, energy_mj: 98765432109 };

t.test('the native addon is what runs in these tests', async (t) => {
  t.equal(nativeStatus().implementation, 'native', nativeStatus().reason);
});

t.test('each GPU is read with its name, uuid, utilization, memory, temperature, power and energy', async (t) => {
  setFakeGpus([H200, { ...H200, uuid: 'GPU-2', util: 100, temp: 80 }]);
  const { nvml, reason } = openNvml(fake.path);
  t.ok(nvml, reason);
  t.teardown(() => nvml?.close());
  t.equal(nvml!.gpuCount, 2);
  t.match(reason, /NVML .*2 GPU\(s\)/);
  const readings = await nvml!.poll();
  t.same(readings[0], {
    index: 0,
    name: 'NVIDIA H200',
    uuid: 'GPU-5e7c1b3a-0000-4000-8000-000000000001',
    utilizationPercent: 37,
    memoryUsedBytes: 81604378624,
    memoryTotalBytes: 150754820096,
    temperatureCelsius: 45,
    powerWatts: 312.456,
    energyJoules: 98765432.109,
  });
  t.match(readings[1], { index: 1, uuid: 'GPU-2', utilizationPercent: 100, temperatureCelsius: 80 });
});

t.test('each poll reads current values', async (t) => {
  setFakeGpus([H200]);
  const { nvml } = openNvml(fake.path);
  t.teardown(() => nvml?.close());
  t.equal((await nvml!.poll())[0]?.temperatureCelsius, 45);
  setFakeGpus([{ ...H200, temp: 71 }]);
  t.equal((await nvml!.poll())[0]?.temperatureCelsius, 71);
});

t.test('a field the GPU does not support reads as null', async (t) => {
  const { energy_mj: _energy, power_mw: _power, ...older } = H200;
  setFakeGpus([older]);
  const { nvml } = openNvml(fake.path);
  t.teardown(() => nvml?.close());
  t.match((await nvml!.poll())[0], { powerWatts: null, energyJoules: null, temperatureCelsius: 45 });
});

t.test('INFERNODE_NVML_LIB chooses the library', async (t) => {
  setFakeGpus([H200]);
  process.env.INFERNODE_NVML_LIB = fake.path;
  t.teardown(() => delete process.env.INFERNODE_NVML_LIB);
  const { nvml, reason } = openNvml();
  t.teardown(() => nvml?.close());
  t.equal(nvml?.gpuCount, 1);
  t.match(reason, fake.path);
});

t.test('a missing library gives no NVML and the loader error as reason', async (t) => {
  const { nvml, reason } = openNvml('/nonexistent/libnvidia-ml.so.1');
  t.equal(nvml, null);
  t.match(reason, /no GPU telemetry: NVML unavailable \(.*nonexistent.*\)/);
});

t.test('a failing nvmlInit gives no NVML and its error as reason', async (t) => {
  process.env.FAKE_NVML_INIT_ERROR = '9';
  const { nvml, reason } = openNvml(fake.path);
  t.equal(nvml, null);
  t.match(reason, /nvmlInit_v2 failed: Driver Not Loaded/);
});

t.test('a library without the NVML functions is refused by name', async (t) => {
  const { nvml, reason } = openNvml('libc.so.6');
  t.equal(nvml, null);
  t.match(reason, /libc\.so\.6 lacks nvmlInit_v2/);
});

t.test('a closed NVML rejects polls and closing twice is harmless', async (t) => {
  setFakeGpus([H200]);
  const { nvml } = openNvml(fake.path);
  nvml!.close();
  nvml!.close();
  await t.rejects(nvml!.poll(), { message: /closed/ });
});

t.test('a poll in flight survives the close that comes before it ends', async (t) => {
  setFakeGpus([H200]);
  const { nvml } = openNvml(fake.path);
  const polling = nvml!.poll();
  nvml!.close();
  t.equal((await polling)[0]?.uuid, H200.uuid);
});

t.test('a poll runs off the main thread, which carries on meanwhile', async (t) => {
  setFakeGpus([H200]);
  process.env.FAKE_NVML_DELAY_US = '50000';
  t.teardown(() => delete process.env.FAKE_NVML_DELAY_US);
  const { nvml } = openNvml(fake.path);
  t.teardown(() => nvml?.close());
  const order: string[] = [];
  const polling = nvml!.poll().then(() => order.push('poll done'));
  setImmediate(() => order.push('main thread ran'));
  await polling;
  t.same(order, ['main thread ran', 'poll done']);
});
