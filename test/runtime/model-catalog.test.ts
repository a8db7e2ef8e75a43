import t from 'tap';
import { mkdtemp, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { scanModels } from '../../src/runtime/model-catalog.js';
import { fixtureModelsDir } from '../helpers/fixtures.js';
import { call, TENSOR_JOB } from '../helpers/http.js';
import { startNode } from '../helpers/node.js';

t.test('a symlinked model directory is listed like a directory; a broken link or a loop is a failed entry', async (t) => {
  const models = await mkdtemp(path.join(os.tmpdir(), 'infernode-catalog-'));
  await symlink(path.join(await fixtureModelsDir(['tiny-tensor']), 'tiny-tensor'), path.join(models, 'linked'));
  await symlink(path.join(models, 'nowhere'), path.join(models, 'broken'));
  await symlink(path.join(models, 'loop-b'), path.join(models, 'loop-a'));
  await symlink(path.join(models, 'loop-a'), path.join(models, 'loop-b'));
  await writeFile(path.join(models, 'notes.txt'), 'not a model');
  await symlink(path.join(models, 'notes.txt'), path.join(models, 'file-link'));
  const found = await scanModels(models);
  t.same(found.map((e) => [e.name, e.spec?.type ?? null]), [['broken', null], ['linked', 'tensor'], ['loop-a', null], ['loop-b', null]], 'files and links to files are not models');
  t.match(found.find((e) => e.name === 'broken')?.problem, /symbolic link that leads to no directory \(ENOENT\)/);
  t.match(found.find((e) => e.name === 'loop-a')?.problem, /\(ELOOP\)/);

  const node = await startNode({ config: { modelsDir: models } });
  t.teardown(() => node.close());
  const listed = (await call(node, 'GET', '/v1/models')).body.data as Array<{ id: string; status: string }>;
  t.same(listed.map((m) => [m.id, m.status]), [['broken', 'failed'], ['linked', 'loaded'], ['loop-a', 'failed'], ['loop-b', 'failed']]);
  const job = await call(node, 'POST', '/v1/jobs', { body: { ...TENSOR_JOB, model: 'linked' }, headers: { prefer: 'wait=30' } });
  t.equal(job.body.status, 'succeeded', 'the linked model serves');
});
