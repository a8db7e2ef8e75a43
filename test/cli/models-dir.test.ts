import t from 'tap';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../bench/lib/daemon-process.js';

t.test('a --models-dir that does not exist or is a file stops serve with one line and exit 2', async (t) => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'infernode-cli-'));
  const file = path.join(tmp, 'a-file');
  await writeFile(file, '');
  const cases: Array<[string, string]> = [
    [path.join(tmp, 'missing'), 'does not exist'],
    [file, 'is not a directory'],
  ];
  for (const [dir, why] of cases) {
    const res = await runCli(['serve', '--port', '0', '--device', 'cpu', '--scratch-dir', path.join(tmp, 'scratch'), '--models-dir', dir]);
    t.equal(res.code, 2, dir);
    t.equal(res.stderr, `infernode: --models-dir: ${dir} ${why}\n`);
  }
});
