import t from 'tap';

// As on a host where the addon did not build: set before anything loads it, in every thread of the node.
process.env.INFERNODE_NATIVE = '0';
const { startNode } = await import('../helpers/node.js');
const { call } = await import('../helpers/http.js');
const { pixels } = await import('./harness.js');

const node = await startNode({ models: ['tiny-sd'] });
t.teardown(() => node.close());

t.test('an image job succeeds on the JS kernels, with its image handed to the media pool and back', async (t) => {
  const res = await call(node, 'POST', '/v1/jobs', {
    headers: { prefer: 'wait=60' },
    body: { type: 'image', model: 'tiny-sd', input: { prompt: 'a red square', width: 64, height: 64, steps: 2, seed: 3 } },
  });
  t.equal(res.status, 200);
  t.equal(res.body.status, 'succeeded', JSON.stringify(res.body.error));
  const png = await fetch(`${node.url}${res.body.outputs[0].url}`);
  t.equal((await pixels(Buffer.from(await png.arrayBuffer()))).width, 64);
});
