import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BIN } from '../../bench/lib/daemon-process.js';
import { fixtureModelsDir } from '../helpers/fixtures.js';

/**
 * Starts `serve` and sends `signal` as soon as its output has `line`; resolves with its exit code and output. Without
 * tap's process-info hook, whose exit handler turns Node's exit code 13 (a top-level await left unsettled) into 0.
 */
function signalOnLine(args: string[], line: string, signal: NodeJS.Signals): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, BIN, 'serve', '--port', '0', '--device', 'cpu', ...args];
  const child = spawn('env', ['-u', 'NODE_OPTIONS', ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const onData = (d: Buffer): void => {
    const before = output;
    output += d;
    if (!before.includes(line) && output.includes(line)) child.kill(signal);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

t.test('SIGTERM during the model preload exits 0 with scratch erased', async (t) => {
  const models = await fixtureModelsDir(['tiny-chat', 'tiny-sd', 'tiny-video', 'tiny-tensor']);
  for (let i = 0; i < 3; i++) {
    const scratch = path.join(await mkdtemp(path.join(os.tmpdir(), 'infernode-cli-')), 'scratch');
    const res = await signalOnLine(['--models-dir', models, '--scratch-dir', scratch], 'Server listening', 'SIGTERM');
    t.equal(res.code, 0, `exit code, run ${i}`);
    t.match(res.output, /shut down; scratch erased/);
    t.notMatch(res.output, /node ready/, 'the cut-short start does not report ready');
    t.same(await readdir(scratch), [], 'nothing left, the claim neither');
  }
});
