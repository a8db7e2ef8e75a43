import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { float16ToFloat32, float32ToFloat16 } from '../../native/kernels.js';
import type { RunContext } from '../executor-types.js';

export type FloatType = 'float32' | 'float16';

/** A graph input or output as the session declares it (exporters differ in dtypes and ranks). */
export interface DeclaredTensor {
  name: string;
  type: ort.Tensor.Type;
  shape: ReadonlyArray<number | string>;
}

/** The first of `names` that the session declares among its inputs (or outputs), with its dtype and shape. */
export function declared(session: ort.InferenceSession, side: 'input' | 'output', names: readonly string[]): DeclaredTensor | null {
  const values = side === 'input' ? session.inputMetadata : session.outputMetadata;
  for (const name of names) {
    const value = values.find((v) => v.name === name);
    if (value?.isTensor) return { name: value.name, type: value.type, shape: value.shape };
  }
  return null;
}

export function requireDeclared(session: ort.InferenceSession, graph: string, side: 'input' | 'output', names: readonly string[]): DeclaredTensor {
  const found = declared(session, side, names);
  if (!found) throw new Error(`${graph}: no ${side} named ${names.join(' or ')}`);
  return found;
}

export function floatType(value: DeclaredTensor, graph: string): FloatType {
  if (value.type === 'float32' || value.type === 'float16') return value.type;
  throw new Error(`${graph}: ${value.name} is ${value.type}, expected float32 or float16`);
}

/** float32 data as a tensor of the dtype the graph declares. */
export function floatTensor(type: FloatType, data: Float32Array, dims: readonly number[]): ort.Tensor {
  return type === 'float16' ? new ort.Tensor('float16', float32ToFloat16(data), dims) : new ort.Tensor('float32', data, dims);
}

/** A float output as float32, whatever precision the graph computed in. */
export function readFloats(tensor: ort.Tensor): Float32Array {
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  if (tensor.type === 'float16') return float16ToFloat32(tensor.data as Uint16Array);
  throw new Error(`expected a float output, got ${tensor.type}`);
}

/** Runs a session and records its time as infernode_model_run_seconds{graph}. */
export async function timedRun(
  session: ort.InferenceSession,
  graph: string,
  feeds: Record<string, ort.Tensor>,
  ctx: Pick<RunContext, 'observeRun'> | null,
): Promise<ort.InferenceSession.ReturnType> {
  const started = performance.now();
  const results = await session.run(feeds);
  ctx?.observeRun(graph, (performance.now() - started) / 1000);
  return results;
}
