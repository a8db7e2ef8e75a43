import { performance } from 'node:perf_hooks';
import path from 'node:path';
import ort from 'onnxruntime-node';
import type { ExecutorModel, ExecutorModelLoader } from '../executor-types.js';
import type { TensorDescriptor } from '../../runtime/model-types.js';
import { datatypeOfOrt, type TensorArray } from './datatypes.js';
import type { TensorPayload, TensorResult, WireTensor } from './protocol.js';

export function describeValues(values: readonly ort.InferenceSession.ValueMetadata[]): TensorDescriptor[] {
  return values.map((v) =>
    v.isTensor
      ? { name: v.name, datatype: datatypeOfOrt(v.type), shape: v.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) }
      : { name: v.name, datatype: 'OBJECT', shape: [] },
  );
}

const ORT_TYPE: Record<string, ort.Tensor.Type> = { FP32: 'float32', FP16: 'float16', INT64: 'int64', INT32: 'int32', UINT8: 'uint8', BOOL: 'bool' };

const zeros = (d: TensorDescriptor): ort.Tensor => {
  const shape = d.shape.map((n) => (n < 0 ? 1 : n));
  const size = shape.reduce((a, b) => a * b, 1);
  const type = ORT_TYPE[d.datatype] ?? 'float32';
  const data = type === 'int64' ? new BigInt64Array(size) : type === 'float32' ? new Float32Array(size) : type === 'int32' ? new Int32Array(size) : type === 'float16' ? new Uint16Array(size) : new Uint8Array(size);
  return new ort.Tensor(type, data, shape);
};

/** A bare ONNX graph served through KServe v2 infer. */
export const loadTensorModel: ExecutorModelLoader = async (spec, sessions) => {
  const session = await sessions.create(path.join(spec.dir, 'model.onnx'));
  const inputs = describeValues(session.inputMetadata);
  const outputs = describeValues(session.outputMetadata);

  const model: ExecutorModel<TensorPayload, TensorResult> = {
    metadata: { inputs, outputs, info: {} },
    async run(payload, ctx) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const t of payload.inputs) feeds[t.name] = new ort.Tensor(ORT_TYPE[t.datatype]!, t.data, t.shape);
      const started = performance.now();
      const results = await session.run(feeds);
      ctx.observeRun('model', (performance.now() - started) / 1000);
      const wire: WireTensor[] = outputs.map((o) => {
        const tensor = results[o.name]!;
        return { name: o.name, datatype: datatypeOfOrt(tensor.type), shape: [...tensor.dims], data: tensor.data as TensorArray };
      });
      return { result: { outputs: wire }, transfer: [...new Set(wire.map((w) => w.data.buffer as ArrayBuffer))] };
    },
    async warmUp() {
      await session.run(Object.fromEntries(inputs.map((d) => [d.name, zeros(d)])));
    },
    async dispose() {
      await session.release();
    },
  };
  return model as ExecutorModel;
};
