import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// From dist/test/native/fake-nvml/ back to the source tree.
const SOURCE = fileURLToPath(new URL('../../../../test/native/fake-nvml/fake_nvml.c', import.meta.url));

export interface FakeNvml {
  /** the built libnvidia-ml.so.1 */
  path: string;
  remove(): void;
}

/** Compiles the fake NVML library into a fresh temporary directory. */
export function buildFakeNvml(): FakeNvml {
  const dir = mkdtempSync(path.join(tmpdir(), 'infernode-fake-nvml-'));
  const lib = path.join(dir, 'libnvidia-ml.so.1');
  execFileSync(process.env.CC ?? 'cc', ['-shared', '-fPIC', '-O2', '-o', lib, SOURCE], { stdio: 'pipe' });
  return { path: lib, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface FakeGpu {
  name?: string;
  uuid?: string;
  util?: number;
  mem_used?: number;
  mem_total?: number;
  temp?: number;
  power_mw?: number;
  energy_mj?: number;
}

/** Sets what the fake library reports from now on (it reads the environment at each call). */
export function setFakeGpus(gpus: FakeGpu[]): void {
  for (const key of Object.keys(process.env)) if (key.startsWith('FAKE_NVML_GPU')) delete process.env[key];
  process.env.FAKE_NVML_GPUS = String(gpus.length);
  gpus.forEach((gpu, i) => {
    process.env[`FAKE_NVML_GPU${i}`] = Object.entries(gpu)
      .map(([key, value]) => `${key}=${value}`)
      .join(';');
  });
}
