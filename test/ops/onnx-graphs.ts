// Builds the smallest ONNX files the model checker reads: a graph's inputs, outputs and initializers, no nodes.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import type * as OnnxTypes from 'onnx-proto';

const { onnx } = onnxProto;

const ELEM_TYPES: Record<string, number> = { FP32: 1, UINT8: 2, INT32: 6, INT64: 7, BOOL: 9, FP16: 10, FP64: 11 };

/** [name, datatype, dims]: a string dim is symbolic */
export type ValueSpec = [string, string, Array<number | string>];

export interface GraphSpec {
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  /** an inline FP32 initializer of this many elements (weights the checker must seek past) */
  inlineWeights?: number;
  /** an initializer whose data lives in this external file */
  externalData?: string;
}

function valueInfo([name, datatype, dims]: ValueSpec): OnnxTypes.onnx.IValueInfoProto {
  const elemType = ELEM_TYPES[datatype];
  if (elemType === undefined) throw new Error(`test helper: unknown datatype ${datatype}`);
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

export function encodeGraph(spec: GraphSpec): Uint8Array {
  const initializer: OnnxTypes.onnx.ITensorProto[] = [];
  if (spec.inlineWeights) {
    initializer.push({ name: 'weights', dataType: 1, dims: [spec.inlineWeights], rawData: new Uint8Array(spec.inlineWeights * 4).fill(7) });
  }
  if (spec.externalData) {
    initializer.push({
      name: 'external_weights', dataType: 1, dims: [1024],
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [{ key: 'location', value: spec.externalData }, { key: 'offset', value: '0' }, { key: 'length', value: '4096' }],
    });
  }
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'infernode-test',
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'g', input: spec.inputs.map(valueInfo), output: spec.outputs.map(valueInfo), initializer },
  }).finish();
}

export async function writeGraph(file: string, spec: GraphSpec): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, encodeGraph(spec));
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(value));
}

/** The smallest tokenizer.json @huggingface/tokenizers loads. */
const WORD_LEVEL_TOKENIZER = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [{ id: 0, content: '<unk>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
  normalizer: null,
  pre_tokenizer: { type: 'Whitespace' },
  post_processor: null,
  decoder: null,
  model: { type: 'WordLevel', vocab: { '<unk>': 0, hello: 1, world: 2 }, unk_token: '<unk>' },
};

/** A chat export in the transformers.js layout with `layers` KV-cache layers. */
export async function writeChatModel(dir: string, options: { layers?: number; configLayers?: number; withPast?: boolean } = {}): Promise<void> {
  const layers = options.layers ?? 2;
  const kv = (prefix: string, seq: string): ValueSpec[] =>
    Array.from({ length: layers }, (_, i) => [
      [`${prefix}.${i}.key`, 'FP32', ['batch', 2, seq, 16]] as ValueSpec,
      [`${prefix}.${i}.value`, 'FP32', ['batch', 2, seq, 16]] as ValueSpec,
    ]).flat();
  const withPast = options.withPast ?? true;
  await writeJson(path.join(dir, 'config.json'), { model_type: 'llama', num_hidden_layers: options.configLayers ?? layers });
  await writeJson(path.join(dir, 'generation_config.json'), { eos_token_id: 2 });
  await writeJson(path.join(dir, 'tokenizer.json'), WORD_LEVEL_TOKENIZER);
  await writeJson(path.join(dir, 'tokenizer_config.json'), { chat_template: '{{ messages }}' });
  await writeGraph(path.join(dir, 'onnx', 'model.onnx'), {
    inputs: [['input_ids', 'INT64', ['batch', 'seq']], ['attention_mask', 'INT64', ['batch', 'total']], ...(withPast ? kv('past_key_values', 'past') : [])],
    outputs: [['logits', 'FP32', ['batch', 'seq', 64]], ...(withPast ? kv('present', 'total') : [])],
  });
}

/** A diffusers ONNX export; `frames` makes the UNet 3-D (a video model). */
export async function writeDiffusionModel(dir: string, options: { frames?: boolean; unetExtraInputs?: ValueSpec[]; unetChannelsIn?: number; vaeEncoder?: boolean } = {}): Promise<void> {
  const latent = options.frames ? ['batch', 4, 'frames', 'h', 'w'] : ['batch', 4, 'h', 'w'];
  await writeJson(path.join(dir, 'model_index.json'), { _class_name: options.frames ? 'TextToVideoSDPipeline' : 'OnnxStableDiffusionPipeline' });
  await writeJson(path.join(dir, 'tokenizer', 'vocab.json'), { '<|startoftext|>': 0, '<|endoftext|>': 1, 'red</w>': 2 });
  await writeFile(path.join(dir, 'tokenizer', 'merges.txt'), '#version: 0.2\n');
  await writeJson(path.join(dir, 'scheduler', 'scheduler_config.json'), { num_train_timesteps: 1000 });
  await writeGraph(path.join(dir, 'text_encoder', 'model.onnx'), { inputs: [['input_ids', 'INT32', ['batch', 77]]], outputs: [['last_hidden_state', 'FP32', ['batch', 77, 32]]] });
  await writeGraph(path.join(dir, 'unet', 'model.onnx'), {
    inputs: [['sample', 'FP32', latent.map((d, i) => (i === 1 ? (options.unetChannelsIn ?? d) : d))], ['timestep', 'INT64', [1]], ['encoder_hidden_states', 'FP32', ['batch', 77, 32]], ...(options.unetExtraInputs ?? [])],
    outputs: [['out_sample', 'FP32', latent]],
  });
  await writeGraph(path.join(dir, 'vae_decoder', 'model.onnx'), { inputs: [['latent_sample', 'FP32', ['batch', 4, 'h', 'w']]], outputs: [['sample', 'FP32', ['batch', 3, 'H', 'W']]] });
  if (options.vaeEncoder ?? true) {
    await writeGraph(path.join(dir, 'vae_encoder', 'model.onnx'), { inputs: [['sample', 'FP32', ['batch', 3, 'H', 'W']]], outputs: [['latent_sample', 'FP32', ['batch', 4, 'h', 'w']]] });
  }
}

/** A KServe tensor model: model.onnx + infernode.json {"type": "tensor"}. */
export async function writeTensorModel(dir: string, spec: GraphSpec = { inputs: [['x', 'FP32', ['batch', 4]]], outputs: [['y', 'FP32', ['batch', 4]]] }): Promise<void> {
  await writeJson(path.join(dir, 'infernode.json'), { type: 'tensor' });
  await writeGraph(path.join(dir, 'model.onnx'), spec);
}
