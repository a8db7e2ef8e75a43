// The bare reference of the chat figures: a greedy loop straight on onnxruntime-node, with the daemon's own
// session settings, in a worker thread of its own (./worker-client.ts).
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createSessionFactory } from '../../src/runtime/session-factory.js';
import { Decoder, describeDecoder } from '../../src/pipelines/chat/decoder.js';
import { readChatModelFiles } from '../../src/pipelines/chat/model-files.js';
import { argmax } from '../../src/pipelines/chat/sampling.js';
import { CPU } from './measure.js';
import { startWorkerClient, type WorkerClient } from './worker-client.js';

export interface BareRequest {
  promptIds: number[];
  /** empty: generate maxTokens whatever is sampled (as ignore_eos) */
  eosIds: number[];
  maxTokens: number;
  /** that many copies of the prompt decoded as one batch: the most the graph gives at that batch size */
  batch: number;
}

export interface BareFigures {
  /** generated tokens over the whole batch */
  tokens: number;
  seconds: number;
  prefill: number;
}

/** Greedy decoding; a batch runs until its first row samples an end-of-sequence token or maxTokens. */
async function greedy(decoder: Decoder, { promptIds, eosIds, maxTokens, batch }: BareRequest): Promise<BareFigures> {
  const eos = new Set(eosIds);
  const started = performance.now();
  const vocab = decoder.shape.vocabSize;
  let { logits, cache } = await decoder.prefill(Array.from({ length: batch }, () => promptIds), () => undefined);
  const prefill = (performance.now() - started) / 1000;
  const sample = () => Array.from({ length: batch }, (_, r) => argmax(logits.subarray(r * vocab, (r + 1) * vocab)));
  let steps = 0;
  for (let next = sample(); !next.some((t) => eos.has(t)) && steps < maxTokens; next = sample()) {
    steps += 1;
    if (steps === maxTokens) break;
    ({ logits, cache } = await decoder.step(next, next.map(() => cache.length), cache, () => undefined));
  }
  return { tokens: steps * batch, seconds: (performance.now() - started) / 1000, prefill };
}

async function serve(dir: string): Promise<void> {
  const files = await readChatModelFiles(dir, undefined);
  const session = await createSessionFactory(CPU).create(files.graph);
  const decoder = new Decoder(session, describeDecoder(session, files.config));
  parentPort!.on('message', (request: BareRequest) => void greedy(decoder, request).then((figures) => parentPort!.postMessage(figures)));
  parentPort!.postMessage('ready');
}

/** Loads the chat model in `dir` in a worker; each request measures one greedy generation there. */
export async function startBareGreedy(dir: string): Promise<WorkerClient<BareRequest, BareFigures>> {
  return (await startWorkerClient<BareRequest, BareFigures>(fileURLToPath(import.meta.url), dir)).client;
}

if (!isMainThread && parentPort) await serve(workerData as string);
