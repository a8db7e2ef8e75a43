import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { checkModelDir, readGraphSignature } from '../../src/runtime/model-check.js';
import { writeChatModel, writeDiffusionModel, writeGraph, writeJson, writeTensorModel } from './onnx-graphs.js';

async function scratchDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'infernode-model-check-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('a chat export with a KV cache passes and its graph inputs are reported with dtypes and shapes', async (t) => {
  const dir = path.join(await scratchDir(t), 'chat-ok');
  await writeChatModel(dir, { layers: 3 });
  const report = await checkModelDir(dir);
  t.same(report.problems, []);
  t.equal(report.type, 'chat');
  const graph = report.graphs[0]!;
  t.equal(graph.file, path.join('onnx', 'model.onnx'));
  t.equal(graph.opsets[''], 17);
  t.same(graph.inputs.find((v) => v.name === 'input_ids'), { name: 'input_ids', datatype: 'INT64', dims: ['batch', 'seq'] });
  t.same(graph.outputs.find((v) => v.name === 'logits'), { name: 'logits', datatype: 'FP32', dims: ['batch', 'seq', 64] });
  t.equal(graph.inputs.filter((v) => v.name.startsWith('past_key_values.')).length, 6);
});

t.test('a chat graph exported without past_key_values fails with the export to use instead', async (t) => {
  const dir = path.join(await scratchDir(t), 'chat-nopast');
  await writeChatModel(dir, { withPast: false });
  const report = await checkModelDir(dir);
  t.match(report.problems.join('\n'), /no past_key_values.*text-generation-with-past/);
});

t.test('a chat graph whose cache layers disagree with config.json num_hidden_layers fails', async (t) => {
  const dir = path.join(await scratchDir(t), 'chat-layers');
  await writeChatModel(dir, { layers: 2, configLayers: 4 });
  const report = await checkModelDir(dir);
  t.match(report.problems.join('\n'), /2 past_key_values layers but config.json num_hidden_layers is 4/);
});

t.test('a chat graph with input_ids of the wrong dtype fails naming the input', async (t) => {
  const dir = path.join(await scratchDir(t), 'chat-dtype');
  await writeChatModel(dir, { layers: 1 });
  await writeGraph(path.join(dir, 'onnx', 'model.onnx'), {
    inputs: [['input_ids', 'INT32', ['b', 's']], ['attention_mask', 'INT64', ['b', 't']], ['past_key_values.0.key', 'FP16', ['b', 2, 'p', 8]], ['past_key_values.0.value', 'FP16', ['b', 2, 'p', 8]]],
    outputs: [['logits', 'FP16', ['b', 's', 10]], ['present.0.key', 'FP16', ['b', 2, 't', 8]], ['present.0.value', 'FP16', ['b', 2, 't', 8]]],
  });
  const report = await checkModelDir(dir);
  t.same(report.problems, ['onnx/model.onnx: input input_ids is INT32, expected INT64']);
});

t.test('a chat graph whose vocabulary size neither the graph nor config.json tells fails', async (t) => {
  const dir = path.join(await scratchDir(t), 'chat-vocab');
  await writeChatModel(dir, { layers: 1 });
  await writeGraph(path.join(dir, 'onnx', 'model.onnx'), {
    inputs: [['input_ids', 'INT64', ['b', 's']], ['attention_mask', 'INT64', ['b', 't']], ['past_key_values.0.key', 'FP32', ['b', 2, 'p', 8]], ['past_key_values.0.value', 'FP32', ['b', 2, 'p', 8]]],
    outputs: [['logits', 'FP32', ['b', 's', 'vocab']], ['present.0.key', 'FP32', ['b', 2, 't', 8]], ['present.0.value', 'FP32', ['b', 2, 't', 8]]],
  });
  const report = await checkModelDir(dir);
  t.match(report.problems, [/^onnx\/model.onnx: cannot tell the vocabulary size/]);
  t.equal(report.problems.length, 1);
});

t.test('a chat model without a chat template passes with a warning that messages requests fail', async (t) => {
  const dir = path.join(await scratchDir(t), 'chat-notemplate');
  await writeChatModel(dir);
  await writeJson(path.join(dir, 'tokenizer_config.json'), {});
  const report = await checkModelDir(dir);
  t.same(report.problems, []);
  t.match(report.warnings.join('\n'), /no chat_template/);
});

t.test('a chat model names another decoder graph in infernode.json and the check reads that one', async (t) => {
  const dir = path.join(await scratchDir(t), 'chat-graph');
  await writeChatModel(dir, { layers: 1 });
  await rename(path.join(dir, 'onnx', 'model.onnx'), path.join(dir, 'onnx', 'model_fp16.onnx'));
  await writeJson(path.join(dir, 'infernode.json'), { type: 'chat', graph: 'onnx/model_fp16.onnx' });
  const report = await checkModelDir(dir);
  t.same(report.problems, []);
  t.same(report.graphs.map((g) => g.file), [path.join('onnx', 'model_fp16.onnx')]);
});

t.test('a chat template only in chat_template.jinja gets a warning saying where to copy it', async (t) => {
  const dir = path.join(await scratchDir(t), 'chat-jinja');
  await writeChatModel(dir);
  await writeJson(path.join(dir, 'tokenizer_config.json'), {});
  await writeFile(path.join(dir, 'chat_template.jinja'), '{{ messages }}');
  const report = await checkModelDir(dir);
  t.same(report.problems, []);
  t.match(report.warnings.join('\n'), /chat_template.jinja, which is not read: copy it into tokenizer_config.json/);
});

t.test('a tokenizer.json the tokenizer library refuses fails the chat model', async (t) => {
  const dir = path.join(await scratchDir(t), 'chat-tokenizer');
  await writeChatModel(dir);
  await writeJson(path.join(dir, 'tokenizer.json'), { version: '1.0', model: { type: 'NoSuchModel' } });
  const report = await checkModelDir(dir);
  t.equal(report.problems.length, 1);
  t.same(report.graphs, [], 'no graph is read for a model that cannot load');
});

t.test('a scheduler config the samplers cannot follow fails naming the field', async (t) => {
  const dir = path.join(await scratchDir(t), 'sd-scheduler');
  await writeDiffusionModel(dir);
  await writeJson(path.join(dir, 'scheduler', 'scheduler_config.json'), { timestep_spacing: 'sideways' });
  const report = await checkModelDir(dir);
  t.match(report.problems, [/scheduler\/scheduler_config.json: timestep_spacing "sideways" is not supported/]);
});

t.test('a diffusers image export passes, and a missing VAE encoder is only a warning about image-to-image', async (t) => {
  const dir = path.join(await scratchDir(t), 'sd');
  await writeDiffusionModel(dir, { vaeEncoder: false });
  const report = await checkModelDir(dir);
  t.equal(report.type, 'image');
  t.same(report.problems, []);
  t.same(report.graphs.map((g) => g.file), ['text_encoder/model.onnx', 'unet/model.onnx', 'vae_decoder/model.onnx'].map((f) => path.normalize(f)));
  t.match(report.warnings.join('\n'), /vae_encoder.*image-to-image/);
});

t.test('a UNet with inputs the pipeline does not feed (an SDXL export) fails naming them', async (t) => {
  const dir = path.join(await scratchDir(t), 'sdxl');
  await writeDiffusionModel(dir, { unetExtraInputs: [['text_embeds', 'FP32', ['batch', 1280]], ['time_ids', 'FP32', ['batch', 6]]] });
  const report = await checkModelDir(dir);
  t.match(report.problems.join('\n'), /input text_embeds is not one the pipeline feeds/);
  t.match(report.problems.join('\n'), /input time_ids is not one the pipeline feeds/);
});

t.test('an inpainting UNet (9 channels in, 4 out) fails saying so', async (t) => {
  const dir = path.join(await scratchDir(t), 'sd-inpaint');
  await writeDiffusionModel(dir, { unetChannelsIn: 9 });
  const report = await checkModelDir(dir);
  t.match(report.problems.join('\n'), /takes 9 channels and makes 4: an inpainting UNet/);
});

t.test('a video export with a 5-D UNet passes as a video model', async (t) => {
  const dir = path.join(await scratchDir(t), 'video');
  await writeDiffusionModel(dir, { frames: true });
  const report = await checkModelDir(dir);
  t.equal(report.type, 'video');
  t.same(report.problems, []);
});

t.test('a 5-D UNet in a directory detected as image fails with how to declare it a video model', async (t) => {
  const dir = path.join(await scratchDir(t), 'video-unmarked');
  await writeDiffusionModel(dir, { frames: true });
  await writeJson(path.join(dir, 'model_index.json'), { _class_name: 'SomePipeline' });
  const report = await checkModelDir(dir);
  t.equal(report.type, 'image');
  t.match(report.problems.join('\n'), /infernode.json \{"type": "video"\}/);
});

t.test('a tensor model with a datatype the tensor API cannot carry fails', async (t) => {
  const dir = path.join(await scratchDir(t), 'tensor-fp64');
  await writeTensorModel(dir, { inputs: [['x', 'FP64', [4]]], outputs: [['y', 'FP32', [4]]] });
  const report = await checkModelDir(dir);
  t.same(report.problems, ['model.onnx: input x is FP64, which the tensor API does not carry (FP32, FP16, INT64, INT32, UINT8, BOOL)']);
});

t.test('a bare model.onnx without infernode.json fails with what to add', async (t) => {
  const dir = path.join(await scratchDir(t), 'bare');
  await writeGraph(path.join(dir, 'model.onnx'), { inputs: [['x', 'FP32', [1]]], outputs: [['y', 'FP32', [1]]] });
  const report = await checkModelDir(dir);
  t.equal(report.type, null);
  t.match(report.problems.join('\n'), /infernode.json \{"type": "tensor"\}/);
});

t.test('a graph whose external data file is missing fails, and passes once the file is there', async (t) => {
  const dir = path.join(await scratchDir(t), 'tensor-external');
  await writeTensorModel(dir, { inputs: [['x', 'FP32', [4]]], outputs: [['y', 'FP32', [4]]], externalData: 'model.onnx_data' });
  const missing = await checkModelDir(dir);
  t.match(missing.problems.join('\n'), /external data file model.onnx_data is missing/);
  await writeFile(path.join(dir, 'model.onnx_data'), Buffer.alloc(4096));
  const present = await checkModelDir(dir);
  t.same(present.problems, []);
  t.same(present.graphs[0]!.externalData, ['model.onnx_data']);
});

t.test('a file that is not ONNX is reported as unreadable instead of throwing', async (t) => {
  const dir = path.join(await scratchDir(t), 'tensor-garbage');
  await writeJson(path.join(dir, 'infernode.json'), { type: 'tensor' });
  await writeFile(path.join(dir, 'model.onnx'), 'this is not a protobuf, just some text\n');
  const report = await checkModelDir(dir);
  t.match(report.problems.join('\n'), /model.onnx: not a readable ONNX model/);
});

t.test('the signature reader seeks past weights stored before the graph inputs', async (t) => {
  const file = path.join(await scratchDir(t), 'weights.onnx');
  await writeGraph(file, { inputs: [['x', 'FP32', ['n', 3]]], outputs: [['y', 'FP16', [2]]], inlineWeights: 1 << 20 });
  const signature = await readGraphSignature(file);
  t.ok(signature.bytes > 4 << 20);
  t.same(signature.inputs, [{ name: 'x', datatype: 'FP32', dims: ['n', 3] }]);
  t.same(signature.outputs, [{ name: 'y', datatype: 'FP16', dims: [2] }]);
});

t.test('an infernode.json with a bad device or limit fails naming the field', async (t) => {
  const dir = path.join(await scratchDir(t), 'tensor-manifest');
  await writeTensorModel(dir);
  await writeJson(path.join(dir, 'infernode.json'), { type: 'tensor', device: 'gpu0', limits: { max_batch: -1 } });
  const report = await checkModelDir(dir);
  t.same(report.problems, ['infernode.json: device must be auto, cpu or cuda:N', 'infernode.json: limits.max_batch must be a positive number']);
});

t.test('a path that is not a directory fails with one problem', async (t) => {
  const dir = await scratchDir(t);
  const report = await checkModelDir(path.join(dir, 'missing'));
  t.match(report.problems, [/is not a directory/]);
});
