import t from 'tap';
import { startNode } from '../helpers/node.js';

t.test('a --preload name that --models-dir does not have is a warning naming it; the others load', async (t) => {
  const node = await startNode({ config: { preload: ['tiny-tensor', 'no-such-model'] } });
  t.teardown(() => node.close());
  const warnings = node.logs.map((l) => JSON.parse(l)).filter((l) => l.level === 40 && /--preload/.test(l.msg));
  t.equal(warnings.length, 1);
  t.same(warnings[0].models, ['no-such-model']);
  t.equal(node.node.registry.get('tiny-tensor')?.status, 'loaded');
});
