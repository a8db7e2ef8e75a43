// The contrast for the control-plane benchmark: a server that runs the model on its main thread, as a naive
// onnxruntime-node service would. Started as a child process by bench/foundation.ts.
import Fastify from 'fastify';
import ort from 'onnxruntime-node';

const [modelPath = '', portArg = '0'] = process.argv.slice(2);
const session = await ort.InferenceSession.create(modelPath);
const app = Fastify();
app.get('/healthz', async () => ({ status: 'ok' }));
app.post('/infer', async (request) => {
  const { batch, iterations } = request.body as { batch: number; iterations: number };
  const input = new ort.Tensor('float32', new Float32Array(batch * 512).fill(0.5), [batch, 512]);
  await session.run({ input, iterations: new ort.Tensor('int64', BigInt64Array.from([BigInt(iterations)]), [1]) });
  return { ok: true };
});
await app.listen({ host: '127.0.0.1', port: Number(portArg) });
const address = app.server.address();
console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }));
