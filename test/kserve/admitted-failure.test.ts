import t from 'tap';
import { startNode } from '../helpers/node.js';
import { call } from '../helpers/http.js';

const node = await startNode({ models: ['busy-tensor'] });
t.teardown(() => node.close());

const counter = async (name: string, labels: string): Promise<number> => {
  const line = (await call(node, 'GET', '/metrics')).text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

t.test('an infer job canceled while it runs is a 409, counted as a canceled job and not as a refused request', async (t) => {
  const inputs = [
    { name: 'input', datatype: 'FP32', shape: [8, 512], data: new Array(8 * 512).fill(0.5) },
    { name: 'iterations', datatype: 'INT64', shape: [1], data: [20000] },
  ];
  const rejectedBefore = await counter('infernode_jobs_rejected_total', 'reason="invalid"');
  const answer = call(node, 'POST', '/v2/models/busy-tensor/infer', { body: { inputs } });
  let running: { id: string } | undefined;
  for (let i = 0; i < 200 && !running; i++) {
    running = (await call(node, 'GET', '/v1/jobs?status=running')).body.jobs[0];
    if (!running) await new Promise((r) => setTimeout(r, 20));
  }
  t.ok(running, 'the infer job runs');
  await call(node, 'DELETE', `/v1/jobs/${running!.id}`);
  t.equal((await answer).status, 409);
  t.equal(await counter('infernode_jobs_finished_total', 'type="tensor",model="busy-tensor",status="canceled"'), 1);
  t.equal(await counter('infernode_jobs_rejected_total', 'reason="invalid"'), rejectedBefore, 'no refusal counted');
});
