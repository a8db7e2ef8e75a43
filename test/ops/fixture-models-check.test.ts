import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { makeFixtures } from '../../scripts/make-fixtures.js';
import { checkModelDir } from '../../src/runtime/model-check.js';

const dir = await mkdtemp(path.join(tmpdir(), 'infernode-fixture-check-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
// every fixture, layout variants included: `make-fixtures.js <dir> --variants`
const names = await makeFixtures(dir, () => true);

t.test('the fixtures include a model of each layout the checker knows', async (t) => {
  const types = new Set((await Promise.all(names.map((n) => checkModelDir(path.join(dir, n))))).map((r) => r.type));
  for (const type of ['chat', 'image', 'video', 'tensor']) t.ok(types.has(type as never), type);
});

for (const name of names) {
  t.test(`models check passes the ${name} fixture`, async (t) => {
    const report = await checkModelDir(path.join(dir, name));
    t.same(report.problems, [], name);
    t.ok(report.graphs.length > 0, 'it read the graphs');
  });
}
