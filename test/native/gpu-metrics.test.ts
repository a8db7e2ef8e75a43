import t from 'tap';
import { Registry } from 'prom-client';
import { registerGpuMetrics } from '../../src/metrics/gpu-metrics.js';
import { openNvml, type Nvml } from '../../src/native/nvml.js';
import { buildFakeNvml, setFakeGpus } from './fake-nvml/build.js';

const fake = buildFakeNvml();
t.teardown(fake.remove);

const GPU0 = { name: 'NVIDIA H200', uuid: 'GPU-aaaa', util: 37, mem_used: 81604378624, mem_total: 150754820096, temp: 45, power_mw: 312456, energy_mj: 98765432109 };
const GPU1 = { name: 'NVIDIA H200', uuid: 'GPU-bbbb', util: 100, mem_used: 1024, mem_total: 2048, temp: 80, power_mw: 700000, energy_mj: 5000 };

/** the part of a tap test these helpers use */
interface Teardowns {
  teardown(fn: () => unknown): void;
}

function openFake(t: Teardowns): Nvml {
  const { nvml, reason } = openNvml(fake.path);
  if (!nvml) throw new Error(reason);
  t.teardown(() => nvml.close());
  return nvml;
}

async function setUp(t: Teardowns, gpus: object[]) {
  setFakeGpus(gpus);
  const registry = new Registry();
  const gpuMetrics = registerGpuMetrics(registry, openFake(t), { intervalMs: 60_000 });
  t.teardown(gpuMetrics.stop);
  await gpuMetrics.refresh();
  return { registry, gpuMetrics };
}

t.test('each GPU is exported under the metric names of API.md, labelled gpu and uuid', async (t) => {
  const { registry } = await setUp(t, [GPU0, GPU1]);
  const text = await registry.metrics();
  for (const line of [
    'infernode_gpu_utilization_ratio{gpu="0",uuid="GPU-aaaa"} 0.37',
    'infernode_gpu_utilization_ratio{gpu="1",uuid="GPU-bbbb"} 1',
    'infernode_gpu_memory_used_bytes{gpu="0",uuid="GPU-aaaa"} 81604378624',
    'infernode_gpu_memory_total_bytes{gpu="0",uuid="GPU-aaaa"} 150754820096',
    'infernode_gpu_temperature_celsius{gpu="1",uuid="GPU-bbbb"} 80',
    'infernode_gpu_power_watts{gpu="0",uuid="GPU-aaaa"} 312.456',
    'infernode_gpu_energy_joules_total{gpu="0",uuid="GPU-aaaa"} 98765432.109',
    '# TYPE infernode_gpu_energy_joules_total counter',
    '# TYPE infernode_gpu_power_watts gauge',
  ]) {
    t.ok(text.split('\n').includes(line), line);
  }
});

t.test('a scrape shows the latest poll', async (t) => {
  const { registry, gpuMetrics } = await setUp(t, [GPU0]);
  setFakeGpus([{ ...GPU0, temp: 66, energy_mj: 98765532109 }]);
  t.match(await registry.metrics(), /infernode_gpu_temperature_celsius\{gpu="0",uuid="GPU-aaaa"\} 45\n/);
  await gpuMetrics.refresh();
  const text = await registry.metrics();
  t.match(text, /infernode_gpu_temperature_celsius\{gpu="0",uuid="GPU-aaaa"\} 66\n/);
  t.match(text, /infernode_gpu_energy_joules_total\{gpu="0",uuid="GPU-aaaa"\} 98765532.109\n/);
});

t.test('a figure the GPU does not report is left out, not exported as zero', async (t) => {
  const { power_mw: _power, ...noPower } = GPU0;
  const { registry } = await setUp(t, [noPower]);
  const text = await registry.metrics();
  t.notMatch(text, /infernode_gpu_power_watts\{/);
  t.match(text, /infernode_gpu_temperature_celsius\{gpu="0"/);
});

t.test('a failed poll clears the figures and is reported', async (t) => {
  setFakeGpus([GPU0]);
  const registry = new Registry();
  const nvml = openFake(t);
  const errors: Error[] = [];
  const gpuMetrics = registerGpuMetrics(registry, nvml, { intervalMs: 60_000, onPollError: (err) => errors.push(err) });
  t.teardown(gpuMetrics.stop);
  await gpuMetrics.refresh();
  nvml.close();
  await gpuMetrics.refresh();
  t.equal(errors.length, 1);
  t.same(gpuMetrics.latestReadings(), []);
  t.notMatch(await registry.metrics(), /infernode_gpu_utilization_ratio\{/);
});

t.test('readings are offered for /readyz by device id', async (t) => {
  const { gpuMetrics } = await setUp(t, [GPU0, GPU1]);
  t.equal(gpuMetrics.latestReadings().length, 2);
  t.same(gpuMetrics.deviceFacts()['cuda:1'], {
    gpu: { name: 'NVIDIA H200', uuid: 'GPU-bbbb', utilization_ratio: 1, memory_used_bytes: 1024, memory_total_bytes: 2048, temperature_celsius: 80, power_watts: 700 },
  });
});

t.test('without NVML there are no GPU metrics and nothing fails', async (t) => {
  const registry = new Registry();
  const gpuMetrics = registerGpuMetrics(registry, null);
  await gpuMetrics.refresh();
  t.notMatch(await registry.metrics(), /infernode_gpu/);
  t.same(gpuMetrics.latestReadings(), []);
  t.same(gpuMetrics.deviceFacts(), {});
  gpuMetrics.stop();
});
