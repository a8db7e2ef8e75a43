import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import type ort from 'onnxruntime-node';
import { describeDecoder } from '../pipelines/chat/decoder.js';
import { DATATYPES, isDatatype } from '../pipelines/tensor/datatypes.js';
import { ChatText, readChatModelFiles, type ChatModelFiles } from '../pipelines/chat/model-files.js';
import { loadClipTokenizer } from '../pipelines/diffusion/clip-tokenizer.js';
import { defaultSchedulerName, parseSchedulerConfigs, unsupportedSamplers } from '../pipelines/diffusion/schedulers/index.js';
import { detectModel } from './model-catalog.js';
import type { ModelManifest, ModelSpec, ModelType } from './model-types.js';

const { onnx } = onnxProto;

/** A graph input or output as the checker reports it: symbolic dimensions keep their names. */
export interface GraphValue {
  name: string;
  /** KServe v2 datatype name (FP32, FP16, INT64, ...) */
  datatype: string;
  /** a number for a fixed dimension, the exporter's name (or "?") for a free one */
  dims: Array<number | string>;
}

export interface GraphSignature {
  /** path relative to the model directory */
  file: string;
  bytes: number;
  irVersion: number;
  /** opset version by domain ("" is the default ONNX domain) */
  opsets: Record<string, number>;
  inputs: GraphValue[];
  outputs: GraphValue[];
  /** external data files the initializers point to, relative to the graph's directory */
  externalData: string[];
}

export interface ModelCheckReport {
  dir: string;
  name: string;
  type: ModelType | null;
  graphs: GraphSignature[];
  /** what makes the model unusable: the check fails */
  problems: string[];
  /** what works but may surprise: the check passes */
  warnings: string[];
}

// ---- reading a graph's signature without loading a session -------------------------------------------

const ONNX_DATATYPES: Record<number, string> = {
  1: 'FP32', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'BYTES',
  9: 'BOOL', 10: 'FP16', 11: 'FP64', 12: 'UINT32', 13: 'UINT64', 16: 'BF16',
};

// Field numbers of onnx.proto: the walker reads only these and seeks past everything else (weights above all).
const MODEL_IR_VERSION = 1;
const MODEL_GRAPH = 7;
const MODEL_OPSET_IMPORT = 8;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
/** external-data initializers are a few hundred bytes; inline ones this large hold weights we need not read */
const SMALL_MESSAGE = 64 * 1024;

export class OnnxFormatError extends Error {
  override name = 'OnnxFormatError';
}

/** Positioned reads through a window, so walking thousands of small fields costs few system calls. */
class FileWindow {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  async bytes(pos: number, length: number): Promise<Buffer> {
    if (pos + length > this.size) throw new OnnxFormatError('truncated protobuf');
    if (pos < this.windowStart || pos + length > this.windowStart + this.window.length) {
      const want = Math.min(Math.max(length, 64 * 1024), this.size - pos);
      const buffer = Buffer.alloc(want);
      const { bytesRead } = await this.handle.read(buffer, 0, want, pos);
      this.window = buffer.subarray(0, bytesRead);
      this.windowStart = pos;
      if (bytesRead < length) throw new OnnxFormatError('truncated protobuf');
    }
    return this.window.subarray(pos - this.windowStart, pos - this.windowStart + length);
  }
}

interface Field {
  number: number;
  /** varint value for wire type 0 */
  value: number;
  /** where the payload of a length-delimited field starts, and its length */
  start: number;
  length: number;
}

async function readVarint(file: FileWindow, pos: number, end: number): Promise<[number, number]> {
  const chunk = await file.bytes(pos, Math.min(10, end - pos));
  let value = 0;
  for (let i = 0; i < chunk.length; i++) {
    const byte = chunk[i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) return [value, pos + i + 1];
  }
  throw new OnnxFormatError('malformed varint');
}

/** The fields of the message stored in [start, end), payloads left unread. */
async function* fieldsOf(file: FileWindow, start: number, end: number): AsyncGenerator<Field> {
  let pos = start;
  while (pos < end) {
    const [tag, afterTag] = await readVarint(file, pos, end);
    const number = Math.floor(tag / 8);
    const wire = tag % 8;
    if (number === 0) throw new OnnxFormatError('field number 0');
    switch (wire) {
      case 0: {
        const [value, next] = await readVarint(file, afterTag, end);
        yield { number, value, start: afterTag, length: 0 };
        pos = next;
        break;
      }
      case 1: pos = afterTag + 8; break;
      case 5: pos = afterTag + 4; break;
      case 2: {
        const [length, payload] = await readVarint(file, afterTag, end);
        if (payload + length > end) throw new OnnxFormatError('a field runs past the end of its message');
        yield { number, value: 0, start: payload, length };
        pos = payload + length;
        break;
      }
      default:
        throw new OnnxFormatError(`unsupported wire type ${wire}`);
    }
  }
  if (pos !== end) throw new OnnxFormatError('a field runs past the end of its message');
}

function graphValue(bytes: Uint8Array): GraphValue {
  const info = onnx.ValueInfoProto.decode(bytes);
  const tensor = info.type?.tensorType;
  const datatype = tensor ? (ONNX_DATATYPES[tensor.elemType ?? 0] ?? `ONNX_TYPE_${tensor.elemType}`) : 'NON_TENSOR';
  const dims = (tensor?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? Number(d.dimValue) : '?'));
  return { name: info.name, datatype, dims };
}

function externalLocation(bytes: Uint8Array): string | null {
  const tensor = onnx.TensorProto.decode(bytes);
  if (tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) return null;
  return tensor.externalData.find((e) => e.key === 'location')?.value ?? null;
}

/** Reads an .onnx file's inputs, outputs, opsets and external data files, seeking past the weights. */
export async function readGraphSignature(file: string, relativeTo = path.dirname(file)): Promise<GraphSignature> {
  const handle = await open(file, 'r');
  try {
    const window = new FileWindow(handle, (await handle.stat()).size);
    const signature: GraphSignature = {
      file: path.relative(relativeTo, file), bytes: window.size, irVersion: 0, opsets: {}, inputs: [], outputs: [], externalData: [],
    };
    let graphSeen = false;
    for await (const field of fieldsOf(window, 0, window.size)) {
      if (field.number === MODEL_IR_VERSION) signature.irVersion = field.value;
      if (field.number === MODEL_OPSET_IMPORT) {
        const opset = onnx.OperatorSetIdProto.decode(await window.bytes(field.start, field.length));
        signature.opsets[opset.domain] = Number(opset.version);
      }
      if (field.number !== MODEL_GRAPH) continue;
      graphSeen = true;
      const external = new Set<string>();
      for await (const g of fieldsOf(window, field.start, field.start + field.length)) {
        if (g.number === GRAPH_INPUT) signature.inputs.push(graphValue(await window.bytes(g.start, g.length)));
        if (g.number === GRAPH_OUTPUT) signature.outputs.push(graphValue(await window.bytes(g.start, g.length)));
        if (g.number === GRAPH_INITIALIZER && g.length <= SMALL_MESSAGE) {
          const location = externalLocation(await window.bytes(g.start, g.length));
          if (location) external.add(location);
        }
      }
      signature.externalData = [...external].sort();
    }
    if (!graphSeen || signature.irVersion === 0) throw new OnnxFormatError('no ONNX model graph in the file');
    return signature;
  } catch (err) {
    if (err instanceof Error && !(err instanceof OnnxFormatError) && !('code' in err)) throw new OnnxFormatError(err.message);
    throw err;
  } finally {
    await handle.close();
  }
}

// ---- what each model type needs ---------------------------------------------------------------------

interface ValueRule {
  name: string;
  datatypes: readonly string[];
  /** ranks allowed; any when absent */
  ranks?: readonly number[];
  /** other names the pipeline accepts for an output, in its order of preference */
  alternatives?: readonly string[];
  /** the pipeline falls back to the graph's first output when none of the names is there */
  orFirstOutput?: true;
}

interface GraphRule {
  file: string;
  optional?: boolean;
  inputs: ValueRule[];
  /** inputs the pipeline feeds when the graph has them */
  optionalInputs?: ValueRule[];
  outputs: ValueRule[];
}

const FLOATS = ['FP32', 'FP16'] as const;
const INTEGERS = ['INT64', 'INT32'] as const;
const TIMESTEP_TYPES = ['INT64', 'INT32', 'FP32', 'FP16'] as const;

function diffusionRules(type: 'image' | 'video'): GraphRule[] {
  const latentRank = type === 'video' ? 5 : 4;
  return [
    { file: 'text_encoder/model.onnx', inputs: [{ name: 'input_ids', datatypes: INTEGERS, ranks: [2] }], outputs: [{ name: 'last_hidden_state', datatypes: FLOATS, ranks: [3], orFirstOutput: true }] },
    {
      file: 'unet/model.onnx',
      inputs: [
        { name: 'sample', datatypes: FLOATS, ranks: [latentRank] },
        { name: 'timestep', datatypes: TIMESTEP_TYPES, ranks: [0, 1] },
        { name: 'encoder_hidden_states', datatypes: FLOATS, ranks: [3] },
      ],
      // an LCM distilled with guidance (time_cond_proj_dim) takes its guidance scale's embedding; images only
      optionalInputs: type === 'image' ? [{ name: 'timestep_cond', datatypes: FLOATS, ranks: [2] }] : [],
      outputs: [{ name: 'out_sample', datatypes: FLOATS, ranks: [latentRank], orFirstOutput: true }],
    },
    // the VAE decodes frame by frame, so its latents are 4-D for video too
    { file: 'vae_decoder/model.onnx', inputs: [{ name: 'latent_sample', datatypes: FLOATS, ranks: [4] }], outputs: [{ name: 'sample', datatypes: FLOATS, ranks: [4] }] },
    { file: 'vae_encoder/model.onnx', optional: true, inputs: [{ name: 'sample', datatypes: FLOATS, ranks: [4] }], outputs: [{ name: 'latent_sample', alternatives: ['latent_parameters'], datatypes: FLOATS, ranks: [4] }] },
  ];
}

const CHAT_INPUTS: ValueRule[] = [
  { name: 'input_ids', datatypes: ['INT64'], ranks: [2] },
  { name: 'attention_mask', datatypes: ['INT64'], ranks: [2] },
];
const CHAT_OPTIONAL_INPUTS: ValueRule[] = [
  { name: 'position_ids', datatypes: ['INT64'], ranks: [2] },
  { name: 'use_cache_branch', datatypes: ['BOOL'], ranks: [1] },
];
const KV = /^(past_key_values|present)\.(\d+)\.(key|value)$/;

class Findings {
  readonly problems: string[] = [];
  readonly warnings: string[] = [];
  problem(text: string): void {
    this.problems.push(text);
  }
  warning(text: string): void {
    this.warnings.push(text);
  }
}

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

async function readJsonObject(file: string): Promise<Record<string, unknown> | null> {
  try {
    const value: unknown = JSON.parse(await readFile(file, 'utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const describe = (v: GraphValue): string => `${v.datatype} [${v.dims.join(', ')}]`;

function checkValue(f: Findings, graph: string, kind: 'input' | 'output', actual: GraphValue, rule: ValueRule): void {
  if (!rule.datatypes.includes(actual.datatype)) {
    f.problem(`${graph}: ${kind} ${actual.name} is ${actual.datatype}, expected ${rule.datatypes.join(' or ')}`);
  }
  if (rule.ranks && !rule.ranks.includes(actual.dims.length)) {
    f.problem(`${graph}: ${kind} ${actual.name} has rank ${actual.dims.length} (${describe(actual)}), expected rank ${rule.ranks.join(' or ')}`);
  }
}

function checkSignature(f: Findings, sig: GraphSignature, rule: Omit<GraphRule, 'file'>, extraInputsAllowed: (name: string) => boolean = () => false): void {
  const inputs = new Map(sig.inputs.map((v) => [v.name, v]));
  const outputs = new Map(sig.outputs.map((v) => [v.name, v]));
  for (const r of rule.inputs) {
    const actual = inputs.get(r.name);
    if (actual) checkValue(f, sig.file, 'input', actual, r);
    else f.problem(`${sig.file}: missing input ${r.name} (has ${[...inputs.keys()].join(', ') || 'none'})`);
  }
  for (const r of rule.optionalInputs ?? []) {
    const actual = inputs.get(r.name);
    if (actual) checkValue(f, sig.file, 'input', actual, r);
  }
  const known = new Set([...rule.inputs, ...(rule.optionalInputs ?? [])].map((r) => r.name));
  for (const name of inputs.keys()) {
    if (!known.has(name) && !extraInputsAllowed(name)) f.problem(`${sig.file}: input ${name} is not one the pipeline feeds (an unsupported variant of this model type?)`);
  }
  for (const r of rule.outputs) {
    const actual = [r.name, ...(r.alternatives ?? [])].map((n) => outputs.get(n)).find(Boolean) ?? (r.orFirstOutput ? sig.outputs[0] : undefined);
    if (actual) checkValue(f, sig.file, 'output', actual, r);
    else f.problem(`${sig.file}: missing output ${[r.name, ...(r.alternatives ?? [])].join(' or ')} (has ${[...outputs.keys()].join(', ') || 'none'})`);
  }
}

async function loadGraph(f: Findings, dir: string, file: string, graphs: GraphSignature[]): Promise<GraphSignature | null> {
  try {
    const sig = await readGraphSignature(path.join(dir, file), dir);
    graphs.push(sig);
    const graphDir = path.dirname(path.join(dir, file));
    for (const data of sig.externalData) {
      if (!(await exists(path.join(graphDir, data)))) f.problem(`${file}: external data file ${data} is missing (copy it beside the graph)`);
    }
    return sig;
  } catch (err) {
    const why = err instanceof OnnxFormatError ? `not a readable ONNX model (${err.message})` : `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
    f.problem(`${file}: ${why}`);
    return null;
  }
}

function kvPairs(values: GraphValue[], prefix: 'past_key_values' | 'present'): Map<number, Set<string>> {
  const layers = new Map<number, Set<string>>();
  for (const v of values) {
    const m = KV.exec(v.name);
    if (!m || m[1] !== prefix) continue;
    const layer = Number(m[2]);
    layers.set(layer, (layers.get(layer) ?? new Set()).add(m[3]!));
  }
  return layers;
}

/** The chat pipeline's own file loaders: what they refuse, a load would refuse. */
async function checkChat(f: Findings, dir: string, manifest: ModelManifest, graphs: GraphSignature[]): Promise<void> {
  let files: ChatModelFiles;
  try {
    files = await readChatModelFiles(dir, manifest['graph']);
    const text = new ChatText(files);
    if (!text.hasChatTemplate) {
      f.warning(
        (await exists(path.join(dir, 'chat_template.jinja')))
          ? 'the chat template is in chat_template.jinja, which is not read: copy it into tokenizer_config.json "chat_template" for "messages" requests'
          : 'no chat_template in tokenizer_config.json: "messages" requests fail; "prompt" works',
      );
    }
  } catch (err) {
    return f.problem((err as Error).message);
  }
  if (!(await exists(path.join(dir, 'generation_config.json')))) f.warning('no generation_config.json: sampling defaults and EOS come from config.json');
  const file = path.relative(dir, files.graph);
  const sig = await loadGraph(f, dir, file, graphs);
  if (!sig) return;

  checkSignature(f, sig, { inputs: CHAT_INPUTS, optionalInputs: CHAT_OPTIONAL_INPUTS, outputs: [{ name: 'logits', datatypes: FLOATS, ranks: [3] }] }, (name) => KV.test(name));
  const past = kvPairs(sig.inputs, 'past_key_values');
  const present = kvPairs(sig.outputs, 'present');
  if (past.size === 0) {
    f.problem(`${file}: no past_key_values.{i}.key/.value inputs: export with the KV cache (optimum-cli ... --task text-generation-with-past)`);
    return;
  }
  for (const [layer, parts] of past) {
    if (parts.size !== 2) f.problem(`${file}: layer ${layer} has past_key_values.${layer}.${[...parts][0]} without its pair`);
    if (!present.has(layer)) f.problem(`${file}: input past_key_values.${layer}.* has no present.${layer}.* output`);
  }
  for (const v of sig.inputs.filter((x) => KV.test(x.name))) checkValue(f, file, 'input', v, { name: v.name, datatypes: FLOATS, ranks: [4] });
  const layers = files.config['num_hidden_layers'] ?? (files.config['text_config'] as Record<string, unknown> | undefined)?.['num_hidden_layers'];
  if (typeof layers === 'number' && layers !== past.size) {
    f.problem(`${file}: ${past.size} past_key_values layers but config.json num_hidden_layers is ${layers}`);
  }
  try {
    // the decoder's own reading of the graph: KV heads, head size and vocabulary, from the graph or config.json
    describeDecoder(sessionMetadata(sig) as ort.InferenceSession, files.config);
  } catch (err) {
    f.problem(`${file}: ${(err as Error).message}`);
  }
}

/** A graph signature in the shape of an ONNX Runtime session's metadata, for code that reads only that. */
function sessionMetadata(sig: GraphSignature): Pick<ort.InferenceSession, 'inputMetadata' | 'outputMetadata'> {
  const metadata = (v: GraphValue): ort.InferenceSession.ValueMetadata => ({
    name: v.name,
    isTensor: true,
    type: (isDatatype(v.datatype) ? DATATYPES[v.datatype].ort : v.datatype.toLowerCase()) as ort.Tensor.Type,
    shape: v.dims,
  });
  return { inputMetadata: sig.inputs.map(metadata), outputMetadata: sig.outputs.map(metadata) };
}

async function checkDiffusion(f: Findings, dir: string, type: 'image' | 'video', graphs: GraphSignature[]): Promise<void> {
  if (!(await readJsonObject(path.join(dir, 'model_index.json')))) f.problem('model_index.json is not a JSON object');
  await loadClipTokenizer(path.join(dir, 'tokenizer')).catch((err: Error) => f.problem(`tokenizer/: ${err.message}`));
  const scheduler = await readJsonObject(path.join(dir, 'scheduler', 'scheduler_config.json'));
  if (!scheduler) f.problem('scheduler/scheduler_config.json is missing or not a JSON object');
  else {
    try {
      parseSchedulerConfigs(scheduler);
      const fallback = defaultSchedulerName(scheduler);
      for (const [name, why] of Object.entries(unsupportedSamplers(scheduler))) {
        if (name === fallback) f.problem(`scheduler/${why}, the sampler this model's _class_name stands for`);
        else f.warning(`scheduler/${why}: jobs naming scheduler ${name} are refused`);
      }
    } catch (err) {
      f.problem(`scheduler/${(err as Error).message}`);
    }
  }

  for (const rule of diffusionRules(type)) {
    if (!(await exists(path.join(dir, rule.file)))) {
      if (rule.optional) f.warning(`no ${rule.file}: image-to-image (init_image) is not available`);
      else f.problem(`missing ${rule.file}`);
      continue;
    }
    const sig = await loadGraph(f, dir, rule.file, graphs);
    if (!sig) continue;
    checkSignature(f, sig, rule);
    const sample = sig.inputs.find((v) => v.name === 'sample');
    if (type === 'image' && rule.file.startsWith('unet/') && sample?.dims.length === 5) {
      f.problem('unet/model.onnx takes 5-D latents (a video UNet): say so with infernode.json {"type": "video"} or unet/config.json _class_name UNet3DConditionModel');
    }
    const out = sig.outputs.find((v) => v.name === 'out_sample') ?? sig.outputs[0];
    const [channelsIn, channelsOut] = [sample?.dims[1], out?.dims[1]];
    if (rule.file.startsWith('unet/') && typeof channelsIn === 'number' && typeof channelsOut === 'number' && channelsIn !== channelsOut) {
      f.problem(`unet/model.onnx takes ${channelsIn} channels and makes ${channelsOut}: an inpainting UNet (latents, mask and masked image), which the pipeline does not feed`);
    }
  }
}

async function checkTensor(f: Findings, dir: string, graphs: GraphSignature[]): Promise<void> {
  if (!(await exists(path.join(dir, 'model.onnx')))) return f.problem('missing model.onnx');
  const sig = await loadGraph(f, dir, 'model.onnx', graphs);
  if (!sig) return;
  if (sig.inputs.length === 0) f.problem('model.onnx: the graph has no inputs');
  if (sig.outputs.length === 0) f.problem('model.onnx: the graph has no outputs');
  for (const [kind, values] of [['input', sig.inputs], ['output', sig.outputs]] as const) {
    for (const v of values) {
      if (!isDatatype(v.datatype)) f.problem(`model.onnx: ${kind} ${v.name} is ${v.datatype}, which the tensor API does not carry (FP32, FP16, INT64, INT32, UINT8, BOOL)`);
    }
  }
}

function checkManifest(f: Findings, spec: ModelSpec): void {
  const m = spec.manifest;
  if (m.device !== undefined && (typeof m.device !== 'string' || !/^(auto|cpu|cuda:\d+)$/.test(m.device))) f.problem('infernode.json: device must be auto, cpu or cuda:N');
  if (m.preload !== undefined && typeof m.preload !== 'boolean') f.problem('infernode.json: preload must be true or false');
  if (m['graph'] !== undefined && (spec.type !== 'chat' || typeof m['graph'] !== 'string')) f.problem('infernode.json: graph names a chat model\'s decoder file, e.g. "onnx/model_fp16.onnx"');
  for (const key of ['limits', 'defaults'] as const) {
    const value = m[key];
    if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) f.problem(`infernode.json: ${key} must be an object`);
  }
  for (const [key, value] of Object.entries(m.limits ?? {})) {
    if (typeof value !== 'number' || !(value > 0)) f.problem(`infernode.json: limits.${key} must be a positive number`);
  }
}

/** Validates a model directory against the layouts of ARCHITECTURE.md without loading any session. */
export async function checkModelDir(dir: string): Promise<ModelCheckReport> {
  const resolved = path.resolve(dir);
  const report: ModelCheckReport = { dir: resolved, name: path.basename(resolved), type: null, graphs: [], problems: [], warnings: [] };
  const f = new Findings();
  try {
    if (!(await stat(resolved)).isDirectory()) throw new Error('not a directory');
  } catch {
    return { ...report, problems: [`${dir} is not a directory`] };
  }
  let spec: ModelSpec;
  try {
    spec = await detectModel(resolved);
  } catch (err) {
    return { ...report, problems: [(err as Error).message] };
  }
  report.type = spec.type;
  checkManifest(f, spec);
  if (spec.type === 'chat') await checkChat(f, resolved, spec.manifest, report.graphs);
  else if (spec.type === 'tensor') await checkTensor(f, resolved, report.graphs);
  else await checkDiffusion(f, resolved, spec.type, report.graphs);
  return { ...report, problems: f.problems, warnings: f.warnings };
}
