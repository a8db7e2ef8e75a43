import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { runModelsCommand, type CommandOutput } from '../../src/cli/models-command.js';
import { writeChatModel, writeDiffusionModel, writeJson, writeTensorModel } from './onnx-graphs.js';

function capture(): CommandOutput & { stdout: () => string; stderr: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return { out: (l) => out.push(l), err: (l) => err.push(l), stdout: () => out.join('\n'), stderr: () => err.join('\n') };
}

async function modelsDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'infernode-models-cmd-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeChatModel(path.join(dir, 'chat-a'));
  await writeDiffusionModel(path.join(dir, 'sd-b'));
  await writeTensorModel(path.join(dir, 'tensor-c'));
  await writeJson(path.join(dir, 'broken-d', 'config.json'), {});
  return dir;
}

t.test('models check prints the graphs it read and exits 0 for a valid model', async (t) => {
  const dir = await modelsDir(t);
  const io = capture();
  t.equal(await runModelsCommand(['check', path.join(dir, 'tensor-c')], io), 0);
  t.match(io.stdout(), /tensor-c \(tensor\)/);
  t.match(io.stdout(), /model\.onnx .*IR 8, opset 17/);
  t.match(io.stdout(), /input +x +FP32 \[batch, 4\]/);
  t.match(io.stdout(), /output +y +FP32 \[batch, 4\]/);
  t.match(io.stdout(), /^OK$/m);
});

t.test('models check prints each problem and exits 1 when any model given fails', async (t) => {
  const dir = await modelsDir(t);
  await writeFile(path.join(dir, 'tensor-c', 'model.onnx'), 'not onnx');
  const io = capture();
  t.equal(await runModelsCommand(['check', path.join(dir, 'chat-a'), path.join(dir, 'tensor-c')], io), 1);
  t.match(io.stdout(), /chat-a \(chat\)[\s\S]*^OK$/m);
  t.match(io.stdout(), /problem: model\.onnx: not a readable ONNX model/);
  t.match(io.stdout(), /FAILED: 1 problem$/m);
});

t.test('models check --json prints the report as JSON', async (t) => {
  const dir = await modelsDir(t);
  const io = capture();
  t.equal(await runModelsCommand(['check', '--json', path.join(dir, 'sd-b')], io), 0);
  const report = JSON.parse(io.stdout()) as { type: string; graphs: Array<{ file: string }>; problems: string[] };
  t.equal(report.type, 'image');
  t.equal(report.graphs.length, 4);
  t.same(report.problems, []);
});

t.test('models list shows every model directory with its type and why a directory is unusable', async (t) => {
  const dir = await modelsDir(t);
  const io = capture();
  t.equal(await runModelsCommand(['list', '--models-dir', dir], io), 0);
  const lines = io.stdout().split('\n');
  t.match(lines[0], /^NAME +TYPE +SIZE +STATE$/);
  t.match(lines.find((l) => l.startsWith('chat-a')), /chat-a +chat +.* ok$/);
  t.match(lines.find((l) => l.startsWith('sd-b')), /sd-b +image /);
  t.match(lines.find((l) => l.startsWith('tensor-c')), /tensor-c +tensor /);
  t.match(lines.find((l) => l.startsWith('broken-d')), /broken-d +- .*unusable: /);
});

t.test('models list reads INFERNODE_MODELS_DIR when no flag is given', async (t) => {
  const dir = await modelsDir(t);
  const saved = process.env['INFERNODE_MODELS_DIR'];
  process.env['INFERNODE_MODELS_DIR'] = dir;
  t.teardown(() => {
    if (saved === undefined) delete process.env['INFERNODE_MODELS_DIR'];
    else process.env['INFERNODE_MODELS_DIR'] = saved;
  });
  const io = capture();
  t.equal(await runModelsCommand(['list', '--json'], io), 0);
  const listing = JSON.parse(io.stdout()) as { models: Array<{ name: string; type: string | null }> };
  t.same(listing.models.map((m) => [m.name, m.type]), [['broken-d', null], ['chat-a', 'chat'], ['sd-b', 'image'], ['tensor-c', 'tensor']]);
});

t.test('models list exits 1 naming the directory when the models dir does not exist', async (t) => {
  const io = capture();
  t.equal(await runModelsCommand(['list', '--models-dir', '/nonexistent/infernode-models'], io), 1);
  t.match(io.stderr(), /\/nonexistent\/infernode-models is not a readable directory/);
});

t.test('an unknown subcommand or flag prints the usage and exits 2', async (t) => {
  const io = capture();
  t.equal(await runModelsCommand(['frobnicate'], io), 2);
  t.match(io.stderr(), /Usage: infernode models list/);
  t.equal(await runModelsCommand(['check', '--deep', 'x'], io), 2);
  t.match(io.stderr(), /unknown flag "--deep"/);
  t.equal(await runModelsCommand(['check'], io), 2);
});
