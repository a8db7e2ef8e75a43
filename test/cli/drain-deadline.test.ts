import t from 'tap';
import net from 'node:net';
import { mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as wait } from 'node:timers/promises';
import path from 'node:path';
import { spawnDaemon } from '../../bench/lib/daemon-process.js';
import { fixtureModelsDir } from '../helpers/fixtures.js';
import { isClaimFile } from '../../src/scratch/scratch-claim.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('an upload still arriving when --drain-timeout ends is cut off: the daemon exits 0 on time with scratch erased', async (t) => {
  const scratch = path.join(await mkdtemp(path.join(os.tmpdir(), 'infernode-cli-')), 'scratch');
  const daemon = await spawnDaemon(['--models-dir', await fixtureModelsDir(['tiny-tensor']), '--scratch-dir', scratch, '--device', 'cpu', '--drain-timeout', '1']);
  t.teardown(() => daemon.child.kill('SIGKILL'));
  const boundary = 'slowupload';
  const job = JSON.stringify({ type: 'tensor', model: 'tiny-tensor', input: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: 'file:x' }] } });
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="job"\r\n\r\n${job}\r\n--${boundary}\r\nContent-Disposition: form-data; name="x"; filename="x"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const socket = net.connect(Number(new URL(daemon.url).port), '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((r) => socket.once('connect', r));
  socket.write(`POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 1000000\r\n\r\n${head}`);
  const trickle = setInterval(() => socket.write('x'.repeat(16)), 100);
  t.teardown(() => clearInterval(trickle));
  for (let i = 0; i < 100 && (await readdir(scratch)).filter((n) => !isClaimFile(n)).length === 0; i++) await sleep(20);
  t.equal((await readdir(scratch)).filter((n) => !isClaimFile(n)).length, 1, 'the upload is streaming into scratch');
  const signalled = Date.now();
  daemon.child.kill('SIGTERM');
  const code = await Promise.race([daemon.exited, wait(10_000, 'still running', { ref: false })]);
  t.equal(code, 0);
  t.ok(Date.now() - signalled < 5_000, `exited ${Date.now() - signalled} ms after SIGTERM, with a 1 s drain`);
  t.same(await readdir(scratch), []);
});
