import path from 'node:path';
import ort from 'onnxruntime-node';
import type { TestNode } from '../helpers/node.js';

// Requests built as tritonclient[http] builds them (InferInput, InferRequestedOutput, _get_inference_request): the JSON
// request, then each binary input's raw bytes, `Inference-Header-Content-Length` when there are any, and no
// Content-Type at all (geventhttpclient sends none). Answers read as its InferResult reads them.

export interface TritonInput {
  tensor: Record<string, unknown>;
  raw: Buffer | null;
}

/** InferInput + set_data_from_numpy(values, binary_data) */
export function inferInput(name: string, datatype: string, shape: number[], values: Float32Array, binaryData = true): TritonInput {
  if (!binaryData) return { tensor: { name, shape, datatype, data: Array.from(values) }, raw: null };
  const raw = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  return { tensor: { name, shape, datatype, parameters: { binary_data_size: raw.length } }, raw };
}

/** InferRequestedOutput(name, binary_data) */
export const requestedOutput = (name: string, binaryData = true) => ({ name, parameters: { binary_data: binaryData } });

export interface TritonRequest {
  body: Buffer;
  headers: Record<string, string>;
}

/** _get_inference_request: no outputs named means every output, as binary data. */
export function tritonRequest(inputs: TritonInput[], outputs?: object[]): TritonRequest {
  const request: Record<string, unknown> = { inputs: inputs.map((i) => i.tensor) };
  if (outputs?.length) request.outputs = outputs;
  else request.parameters = { binary_data_output: true };
  return rawRequest(JSON.stringify(request), inputs.flatMap((i) => (i.raw ? [i.raw] : [])));
}

/** A JSON header and bytes after it, with the header a binary request carries when it has bytes. */
export function rawRequest(json: string, binaries: Buffer[]): TritonRequest {
  const header = Buffer.from(json);
  if (binaries.length === 0) return { body: header, headers: {} };
  return { body: Buffer.concat([header, ...binaries]), headers: { 'inference-header-content-length': String(header.length) } };
}

export interface TritonResult {
  status: number;
  headers: Headers;
  /** the JSON answer (its header, for a binary one) */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** each binary output's bytes, by name */
  binary: Map<string, Buffer>;
}

/** POST as geventhttpclient does: a bytes body (so fetch adds Content-Length and no Content-Type). */
export async function postInfer(node: TestNode, request: TritonRequest, model = 'tiny-tensor'): Promise<TritonResult> {
  const res = await fetch(`${node.url}/v2/models/${model}/infer`, { method: 'POST', headers: request.headers, body: request.body });
  const body = Buffer.from(await res.arrayBuffer());
  const declared = res.headers.get('inference-header-content-length');
  const headerBytes = declared === null ? body.length : Number(declared);
  const json = JSON.parse(body.subarray(0, headerBytes).toString('utf8'));
  const binary = new Map<string, Buffer>();
  let offset = headerBytes;
  for (const output of json.outputs ?? []) {
    const size = output.parameters?.binary_data_size;
    if (size === undefined) continue;
    binary.set(output.name, body.subarray(offset, offset + size));
    offset += size;
  }
  return { status: res.status, headers: res.headers, json, binary };
}

export const float32s = (bytes: Buffer): number[] => Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));

/** What onnxruntime itself computes for tiny-tensor's input, output by output. */
export async function tinyTensorOutputs(node: TestNode, values: Float32Array, shape: number[]): Promise<Record<string, number[]>> {
  const session = await ort.InferenceSession.create(path.join(node.node.config.modelsDir, 'tiny-tensor', 'model.onnx'));
  const results = await session.run({ input: new ort.Tensor('float32', values, shape) });
  await session.release();
  return Object.fromEntries(Object.entries(results).map(([name, tensor]) => [name, Array.from(tensor.data as Float32Array)]));
}
