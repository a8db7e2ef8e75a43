import { float32ToFloat16 } from '../../native/kernels.js';
import { isDatatype, type Datatype, type TensorArray } from '../../pipelines/tensor/datatypes.js';
import type { RequestedOutput } from './requested-outputs.js';

/** A tensor job's output as its result holds it: JSON values (FP16 widened to numbers, BOOL as booleans). */
export interface JsonTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

export interface InferEnvelope {
  model_name: string;
  model_version: string;
  id?: string;
}

/** All JSON; or, with a binary output, the JSON header's length and the body (header, then each binary output's bytes). */
export type InferReply = { json: object } | { headerBytes: number; body: Buffer };

function typedArray(datatype: Datatype, values: unknown[]): TensorArray {
  switch (datatype) {
    case 'FP32': return Float32Array.from(values as number[]);
    case 'FP16': return float32ToFloat16(Float32Array.from(values as number[]));
    case 'INT64': return BigInt64Array.from(values as number[], (v) => BigInt(v));
    case 'INT32': return Int32Array.from(values as number[]);
    case 'UINT8': return Uint8Array.from(values as number[]);
    case 'BOOL': return Uint8Array.from(values as boolean[], (v) => (v ? 1 : 0));
  }
}

/** The output's raw little-endian bytes, the inverse of the tensor job's JSON values (INT64 past 2^53 keeps the JSON's rounding). */
function rawBytes(output: JsonTensor): Uint8Array {
  if (!isDatatype(output.datatype)) throw new Error('binary outputs are of datatypes checked by requestedOutputs');
  const typed = typedArray(output.datatype, output.data);
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

/** The answer to an infer request: its outputs in the order asked, each as JSON data or as binary data. */
export function inferReply(envelope: InferEnvelope, outputs: readonly JsonTensor[], wanted: readonly RequestedOutput[]): InferReply {
  const byName = new Map(outputs.map((o) => [o.name, o]));
  const binaries: Uint8Array[] = [];
  const entries = wanted.map(({ name, binary }) => {
    // a tensor job computes every output of its model
    const output = byName.get(name)!;
    if (!binary) return output;
    const bytes = rawBytes(output);
    binaries.push(bytes);
    return { name, datatype: output.datatype, shape: output.shape, parameters: { binary_data_size: bytes.length } };
  });
  const json = { ...envelope, outputs: entries };
  if (binaries.length === 0) return { json };
  const header = Buffer.from(JSON.stringify(json));
  return { headerBytes: header.length, body: Buffer.concat([header, ...binaries]) };
}
