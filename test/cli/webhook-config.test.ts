import t from 'tap';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../bench/lib/daemon-process.js';
import { fixtureModelsDir } from '../helpers/fixtures.js';

t.test('a refused webhook configuration prints its one line and exits 2 at once', async (t) => {
  const scratch = path.join(await mkdtemp(path.join(os.tmpdir(), 'infernode-cli-')), 'scratch');
  const base = ['serve', '--port', '0', '--device', 'cpu', '--scratch-dir', scratch, '--models-dir', await fixtureModelsDir(['tiny-tensor'])];
  const cases: Array<[string[], RegExp]> = [
    [['--webhook-allow', 'http://x/'], /^infernode: --webhook-allow: "http:\/\/x\/" is not a host/],
    [['--webhook-allow', 'example.com'], /^infernode: --webhook-secret: needs at least/],
  ];
  for (const [flags, message] of cases) {
    const started = Date.now();
    const res = await runCli([...base, ...flags]);
    t.equal(res.code, 2, flags.join(' '));
    t.match(res.stderr, message);
    t.equal(res.stderr.trim().split('\n').length, 1, 'one line');
    t.ok(Date.now() - started < 10_000, 'no thread keeps the process alive');
  }
});
