import t from 'tap';
import { startNode } from '../helpers/node.js';
import { TENSOR_JOB, call } from '../helpers/http.js';

const node = await startNode();
t.teardown(() => node.close());

const infer = (outputs: unknown) => call(node, 'POST', '/v2/models/tiny-tensor/infer', { body: { inputs: TENSOR_JOB.input.inputs, outputs } });

t.test('an output the model does not have is a 400 naming outputs[i].name, without repeating the name asked for', async (t) => {
  const res = await infer([{ name: 'sum' }, { name: 'nosuch-output-name' }]);
  t.equal(res.status, 400);
  t.equal(res.body.error.field, 'outputs[1].name');
  t.match(res.body.error.message, /output, sum/, "the message lists the model's outputs");
  t.notMatch(res.text, /nosuch-output-name/);
});

t.test('an entry of outputs that is not an object is a 400 naming outputs[i].name', async (t) => {
  const res = await infer(['sum']);
  t.equal(res.status, 400);
  t.equal(res.body.error.field, 'outputs[0].name');
});

t.test('outputs that is not a list is a 400 naming outputs', async (t) => {
  const res = await infer({ name: 'sum' });
  t.equal(res.status, 400);
  t.equal(res.body.error.field, 'outputs');
});

t.test('an output asked for twice is a 400 naming the second', async (t) => {
  const res = await infer([{ name: 'sum' }, { name: 'sum' }]);
  t.equal(res.status, 400);
  t.equal(res.body.error.field, 'outputs[1].name');
});

t.test('an output asking for an extension the node lacks (classification) is a 400 naming the parameter', async (t) => {
  const res = await infer([{ name: 'sum', parameters: { classification: 2 } }]);
  t.equal(res.status, 400);
  t.equal(res.body.error.field, 'outputs[0].parameters.classification');
});

t.test('outputs come back in the order asked', async (t) => {
  const res = await infer([{ name: 'sum' }, { name: 'output' }]);
  t.equal(res.status, 200);
  t.same(res.body.outputs.map((o: { name: string }) => o.name), ['sum', 'output']);
});
