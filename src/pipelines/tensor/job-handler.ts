import { invalidInput } from '../../server/errors.js';
import type { TensorDescriptor } from '../../runtime/model-types.js';
import type { JobHandler, ParseContext } from '../job-handler.js';
import { float32ToFloat16, float16ToFloat32 } from '../../native/kernels.js';
import { DATATYPES, fromBytes, isDatatype, type Datatype, type TensorArray } from './datatypes.js';
import type { TensorPayload, TensorResult, WireTensor } from './protocol.js';

/** Inline JSON data, or a multipart part holding the raw little-endian bytes. */
type ParsedData = { inline: TensorArray } | { part: string };

export interface ParsedTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: ParsedData;
}

export interface TensorInput {
  inputs: ParsedTensor[];
}

const MAX_RANK = 8;

function flatten(data: unknown, field: string): unknown[] {
  if (!Array.isArray(data)) throw invalidInput(field, 'data must be an array (flat or nested) or "file:<part>"');
  return data.some(Array.isArray) ? (data.flat(MAX_RANK) as unknown[]) : data;
}

function toArray(datatype: Datatype, values: unknown[], field: string): TensorArray {
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw invalidInput(field, `data holds a value that is not ${what} (datatype ${datatype})`);
  };
  switch (datatype) {
    case 'FP32':
    case 'FP16': {
      const out = new Float32Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        check(typeof v === 'number', 'a number');
        out[i] = v as number;
      }
      return datatype === 'FP16' ? float32ToFloat16(out) : out;
    }
    case 'INT64': {
      const out = new BigInt64Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        check(Number.isSafeInteger(v), 'an integer');
        out[i] = BigInt(v as number);
      }
      return out;
    }
    case 'INT32': {
      const out = new Int32Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i] as number;
        check(Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31, 'a 32-bit integer');
        out[i] = v;
      }
      return out;
    }
    case 'UINT8': {
      const out = new Uint8Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i] as number;
        check(Number.isInteger(v) && v >= 0 && v <= 255, 'an integer from 0 to 255');
        out[i] = v;
      }
      return out;
    }
    case 'BOOL': {
      const out = new Uint8Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        check(typeof v === 'boolean', 'a boolean');
        out[i] = v ? 1 : 0;
      }
      return out;
    }
  }
}

function parseShape(shape: unknown, spec: TensorDescriptor, field: string): number[] {
  if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalidInput(field, `shape must be a list of at most ${MAX_RANK} non-negative integers`);
  }
  if (shape.length !== spec.shape.length) throw invalidInput(field, `shape must have rank ${spec.shape.length} (model expects [${spec.shape.join(', ')}])`);
  spec.shape.forEach((want, i) => {
    if (want >= 0 && shape[i] !== want) throw invalidInput(field, `dimension ${i} must be ${want} (model expects [${spec.shape.join(', ')}])`);
  });
  return shape as number[];
}

function parseTensor(raw: unknown, index: number, ctx: ParseContext): ParsedTensor {
  const field = `input.inputs[${index}]`;
  if (typeof raw !== 'object' || raw === null) throw invalidInput(field, 'each input must be an object with name, datatype, shape and data');
  const { name, datatype, shape, data } = raw as Record<string, unknown>;
  const spec = ctx.model.metadata.inputs.find((i) => i.name === name);
  if (typeof name !== 'string' || !spec) {
    throw invalidInput(`${field}.name`, `unknown input name; the model's inputs are ${ctx.model.metadata.inputs.map((i) => i.name).join(', ')}`);
  }
  if (!isDatatype(datatype)) throw invalidInput(`${field}.datatype`, `datatype must be one of ${Object.keys(DATATYPES).join(', ')}`);
  if (datatype !== spec.datatype) throw invalidInput(`${field}.datatype`, `input ${name} takes ${spec.datatype}, not ${datatype}`);
  const dims = parseShape(shape, spec, `${field}.shape`);
  const elements = dims.reduce((a, b) => a * b, 1);
  if (typeof data === 'string') {
    const part = /^file:(.+)$/.exec(data)?.[1];
    if (!part || !ctx.uploads.has(part)) throw invalidInput(`${field}.data`, 'data names no uploaded part of this request');
    if (ctx.uploads.size(part) !== elements * DATATYPES[datatype].bytes) {
      throw invalidInput(`${field}.data`, `the uploaded part must hold ${elements * DATATYPES[datatype].bytes} bytes for shape [${dims.join(', ')}]`);
    }
    return { name, datatype, shape: dims, data: { part } };
  }
  const values = flatten(data, `${field}.data`);
  if (values.length !== elements) throw invalidInput(`${field}.data`, `shape [${dims.join(', ')}] needs ${elements} values, data has ${values.length}`);
  return { name, datatype, shape: dims, data: { inline: toArray(datatype, values, `${field}.data`) } };
}

/** JSON results: INT64 as numbers, FP16 widened to FP32 values (datatype stays FP16). */
function toJson(t: WireTensor): { name: string; datatype: string; shape: number[]; data: unknown[] } {
  const data =
    t.data instanceof BigInt64Array ? Array.from(t.data, Number)
    : t.datatype === 'FP16' ? Array.from(float16ToFloat32(t.data as Uint16Array))
    : t.datatype === 'BOOL' ? Array.from(t.data as Uint8Array, Boolean)
    : Array.from(t.data as ArrayLike<number>);
  return { name: t.name, datatype: t.datatype, shape: t.shape, data };
}

export const tensorJobHandler: JobHandler<TensorInput> = {
  type: 'tensor',
  parse(input, ctx) {
    const inputs = (input as { inputs?: unknown }).inputs;
    if (!Array.isArray(inputs) || inputs.length === 0) throw invalidInput('input.inputs', 'inputs must be a non-empty list of tensors');
    const parsed = inputs.map((raw, i) => parseTensor(raw, i, ctx));
    const names = new Set(parsed.map((p) => p.name));
    if (names.size !== parsed.length) throw invalidInput('input.inputs', 'each input may be given once');
    const missing = ctx.model.metadata.inputs.filter((i) => !names.has(i.name));
    if (missing.length) throw invalidInput('input.inputs', `missing inputs: ${missing.map((m) => m.name).join(', ')}`);
    return { inputs: parsed };
  },
  async run(input, ctx) {
    const wire: WireTensor[] = [];
    for (const t of input.inputs) {
      const data = 'inline' in t.data ? t.data.inline : fromBytes(t.datatype, await ctx.readUpload(t.data.part));
      wire.push({ name: t.name, datatype: t.datatype, shape: t.shape, data });
    }
    const result = await ctx.execute<TensorResult>({ inputs: wire } satisfies TensorPayload);
    return { outputs: result.outputs.map(toJson) };
  },
};
