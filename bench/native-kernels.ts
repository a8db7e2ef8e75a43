/**
 * Native kernels against their JS fallbacks, side by side in one run, and one NVML poll on the fake library.
 * Run: npx tsc -p . && node dist/bench/native-kernels.js
 */
import { nativeAddon, nativeStatus } from '../src/native/addon.js';
import { jsKernels, type TensorKernels } from '../src/native/kernels-js.js';
import { openNvml } from '../src/native/nvml.js';
import { buildFakeNvml, setFakeGpus } from '../test/native/fake-nvml/build.js';

const RUNS = 15;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function timeMs(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Alternates the two so that both see the same machine state; returns medians in ms. */
function sideBySide(native: () => void, js: () => void): { native: number; js: number } {
  native();
  js();
  const n: number[] = [];
  const j: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    n.push(timeMs(native));
    j.push(timeMs(js));
  }
  return { native: median(n), js: median(j) };
}

/** `target`: the least ratio the issue asks for, where it asks for one. */
function report(name: string, r: { native: number; js: number }, target?: number): boolean {
  const ratio = r.js / r.native;
  const goal = target === undefined ? '' : ` (target >= ${target}x)`;
  console.log(`${name.padEnd(40)} native ${r.native.toFixed(3).padStart(7)} ms   js ${r.js.toFixed(3).padStart(7)} ms   ratio ${ratio.toFixed(1).padStart(5)}x${goal}`);
  return target === undefined || ratio >= target;
}

function randomBytes(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    bytes[i] = s >>> 24;
  }
  return bytes;
}

function kernelFigures(native: TensorKernels): boolean {
  const [w, h] = [512, 512];
  const rgb = randomBytes(w * h * 3);
  const scale = [2 / 255, 2 / 255, 2 / 255] as const;
  const offset = [-1, -1, -1] as const;
  const out16 = new Uint16Array(3 * w * h);
  const out32 = new Float32Array(3 * w * h);
  let ok = report(
    '512x512 RGB uint8 -> float16 NCHW',
    sideBySide(
      () => native.imageToTensorInto(rgb, w, h, 3, scale, offset, out16),
      () => jsKernels.imageToTensorInto(rgb, w, h, 3, scale, offset, out16),
    ),
    5,
  );
  report(
    '512x512 RGB uint8 -> float32 NCHW',
    sideBySide(
      () => native.imageToTensorInto(rgb, w, h, 3, scale, offset, out32),
      () => jsKernels.imageToTensorInto(rgb, w, h, 3, scale, offset, out32),
    ),
  );

  const n = 4 * 1024 * 1024;
  const floats = new Float32Array(n);
  const noise = randomBytes(n);
  for (let i = 0; i < n; i++) floats[i] = (noise[i]! - 127.5) / 31.7 + i * 1e-6;
  const halves = new Uint16Array(n);
  ok =
    report(
      'float32 -> float16, 4M values',
      sideBySide(
        () => native.float32ToFloat16Into(floats, halves),
        () => jsKernels.float32ToFloat16Into(floats, halves),
      ),
      5,
    ) && ok;
  const back = new Float32Array(n);
  report(
    'float16 -> float32, 4M values',
    sideBySide(
      () => native.float16ToFloat32Into(halves, back),
      () => jsKernels.float16ToFloat32Into(halves, back),
    ),
  );
  const image = new Uint8Array(3 * w * h);
  report(
    'NCHW float [-1,1] -> 512x512 RGB uint8',
    sideBySide(
      () => native.tensorToImageInto(floats, 0, 3, h, w, image),
      () => jsKernels.tensorToImageInto(floats, 0, 3, h, w, image),
    ),
  );
  return ok;
}

async function nvmlFigures(): Promise<boolean> {
  const fake = buildFakeNvml();
  let ok = true;
  try {
    for (const gpus of [1, 8]) {
      setFakeGpus(Array.from({ length: gpus }, (_, i) => ({ name: 'Fake GPU', uuid: `GPU-${i}`, util: 50, mem_used: 1 << 30, mem_total: 2 ** 37, temp: 50, power_mw: 300000, energy_mj: 123456789 })));
      const { nvml, reason } = openNvml(fake.path);
      if (!nvml) throw new Error(reason);
      await nvml.poll();
      const times: number[] = [];
      for (let i = 0; i < 101; i++) {
        const start = process.hrtime.bigint();
        await nvml.poll();
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      nvml.close();
      const perGpu = median(times) / gpus;
      console.log(`${`NVML poll (fake library), ${gpus} GPU(s)`.padEnd(40)} ${median(times).toFixed(3)} ms per poll, ${perGpu.toFixed(3)} ms per GPU (target <= 1 ms per GPU; median of 101)`);
      ok = ok && perGpu <= 1;
    }
  } finally {
    fake.remove();
  }
  return ok;
}

const native = nativeAddon();
if (!native) throw new Error(`the benchmark compares the native kernels with JS, but ${nativeStatus().reason}`);
console.log(`${nativeStatus().reason}; medians of ${RUNS} runs, native and JS alternating`);
const kernelsOk = kernelFigures(native);
const nvmlOk = await nvmlFigures();
console.log(kernelsOk && nvmlOk ? 'all targets met' : 'TARGET MISSED');
process.exitCode = kernelsOk && nvmlOk ? 0 : 1;
