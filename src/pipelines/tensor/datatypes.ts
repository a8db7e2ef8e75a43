/** KServe v2 datatypes this node accepts, with their ONNX Runtime names and typed arrays. */
export const DATATYPES = {
  FP32: { ort: 'float32', bytes: 4 },
  FP16: { ort: 'float16', bytes: 2 },
  INT64: { ort: 'int64', bytes: 8 },
  INT32: { ort: 'int32', bytes: 4 },
  UINT8: { ort: 'uint8', bytes: 1 },
  BOOL: { ort: 'bool', bytes: 1 },
} as const;

export type Datatype = keyof typeof DATATYPES;
export type OrtType = (typeof DATATYPES)[Datatype]['ort'];
export type TensorArray = Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;

const BY_ORT = new Map<string, Datatype>(Object.entries(DATATYPES).map(([k, v]) => [v.ort, k as Datatype]));

export const isDatatype = (value: unknown): value is Datatype => typeof value === 'string' && value in DATATYPES;

/** onnxruntime type name → KServe datatype (others are reported by their ORT name in upper case). */
export const datatypeOfOrt = (ortType: string): string => BY_ORT.get(ortType) ?? ortType.toUpperCase();

/** A view of raw little-endian bytes as the datatype's typed array (copied so it is aligned and owned). */
export function fromBytes(datatype: Datatype, bytes: Uint8Array): TensorArray {
  const copy = new Uint8Array(bytes).buffer;
  switch (datatype) {
    case 'FP32': return new Float32Array(copy);
    case 'FP16': return new Uint16Array(copy);
    case 'INT64': return new BigInt64Array(copy);
    case 'INT32': return new Int32Array(copy);
    case 'UINT8':
    case 'BOOL': return new Uint8Array(copy);
  }
}
