// The peer of the chat figures: the same model served the way a Node user would with transformers.js
// (@huggingface/transformers) — chat template, `model.generate` with a streamer, and concurrent requests as
// concurrent `generate` calls, since it has no batching across requests. It runs in a worker thread of its own,
// as the bare loop and the daemon's executor do (./worker-client.ts); the library is imported only there, so the
// caller's thread never loads it. Its sessions get the daemon's CPU settings, else it would measure another runtime.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { cpuThreading } from '../../src/runtime/session-factory.js';
import { median } from './measure.js';
import { startWorkerClient } from './worker-client.js';

export interface PeerRequest {
  messages: { role: 'user' | 'system' | 'assistant'; content: string }[];
  maxTokens: number;
  /** generate maxTokens whatever is sampled, end-of-sequence tokens included (as the daemon's ignore_eos) */
  ignoreEos: boolean;
  /** that many generations started at once */
  concurrency: number;
}

export interface PeerFigures {
  /** generated tokens over all the concurrent generations, a final end-of-sequence token not counted */
  tokens: number;
  /** from the start of all to the end of the last */
  seconds: number;
  /** median over the generations of the time from the common start to the first generated token */
  ttft: number;
}

export interface TransformersPeer {
  /** the library's version, which the figures are for */
  version: string;
  run(request: PeerRequest): Promise<PeerFigures>;
  close(): Promise<number>;
}

type Reply = { figures: PeerFigures } | { error: string };

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();

type GenerateOne = (request: PeerRequest, started: number) => Promise<{ tokens: number; ttft: number }>;

/** The files transformers.js reads; checked first since its own error for a missing one names none. */
const FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'];

async function load(dir: string): Promise<{ version: string; generateOne: GenerateOne }> {
  for (const file of FILES) await access(path.join(dir, file)).catch(() => Promise.reject(new Error(`no ${file}`)));
  const { AutoModelForCausalLM, AutoTokenizer, TextStreamer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  // the files are read from `dir` itself: a cached copy from an earlier fixture build must not stand in for them
  env.useFSCache = false;
  const options = { local_files_only: true };
  const tokenizer = await AutoTokenizer.from_pretrained(dir, options);
  const model = await AutoModelForCausalLM.from_pretrained(dir, { ...options, dtype: 'fp32', device: 'cpu', session_options: { graphOptimizationLevel: 'all', logSeverityLevel: 3, ...cpuThreading() } });
  const configured = model.generation_config?.eos_token_id ?? [];
  const eos = new Set((Array.isArray(configured) ? configured : [configured]).map(BigInt));

  // One request as a streaming server would answer it: template and tokenize, then generate while the streamer
  // decodes text as it comes (TextStreamer is the library's own way to stream; a server would send its pieces).
  const generateOne: GenerateOne = async ({ messages, maxTokens, ignoreEos }, started) => {
    let tokens = 0;
    let first = 0;
    const streamer = new TextStreamer(tokenizer, {
      skip_prompt: true,
      callback_function: () => undefined,
      token_callback_function: (ids) => {
        first ||= performance.now();
        for (const id of ids) if (ignoreEos || !eos.has(id)) tokens += 1;
      },
    });
    const inputs = tokenizer.apply_chat_template(messages, { add_generation_prompt: true, return_dict: true });
    await model.generate({
      ...inputs,
      do_sample: false,
      max_new_tokens: maxTokens,
      // no end-of-sequence ids: nothing stops the loop early and no logit is masked, so the tokens are the ones
      // greedy picks, end-of-sequence included, as with the daemon's ignore_eos (min_new_tokens would mask them)
      ...(ignoreEos ? { eos_token_id: [] } : {}),
      streamer,
    });
    return { tokens, ttft: (first - started) / 1000 };
  };
  return { version: env.version, generateOne };
}

async function serve(dir: string): Promise<void> {
  const port = parentPort!;
  let loaded: Awaited<ReturnType<typeof load>>;
  try {
    loaded = await load(dir);
  } catch (e) {
    port.postMessage({ unavailable: `transformers.js cannot load ${dir}: ${firstLine(e)}` });
    return;
  }
  const { version, generateOne } = loaded;
  port.on('message', (request: PeerRequest) => {
    const started = performance.now();
    Promise.all(Array.from({ length: request.concurrency }, () => generateOne(request, started))).then(
      (runs) => {
        const seconds = (performance.now() - started) / 1000;
        const figures: PeerFigures = { tokens: runs.reduce((sum, r) => sum + r.tokens, 0), seconds, ttft: median(runs.map((r) => r.ttft)) };
        port.postMessage({ figures } satisfies Reply);
      },
      (e: unknown) => port.postMessage({ error: firstLine(e) } satisfies Reply),
    );
  });
  port.postMessage({ version });
}

/**
 * Loads the chat model in `dir` with transformers.js in a worker; `run` measures one round of `concurrency`
 * concurrent greedy generations there. Resolves `{ unavailable }` when the library cannot load the model.
 */
export async function startTransformersPeer(dir: string): Promise<TransformersPeer | { unavailable: string }> {
  const started = await startWorkerClient<PeerRequest, Reply>(fileURLToPath(import.meta.url), path.resolve(dir)).catch((e: unknown) => ({ first: { unavailable: firstLine(e) }, client: null }));
  const first = started.first as { version: string } | { unavailable: string };
  const client = started.client;
  if ('unavailable' in first || !client) {
    await client?.close();
    return 'unavailable' in first ? first : { unavailable: 'the transformers.js worker did not start' };
  }
  return {
    version: first.version,
    run: async (request) => {
      const r = await client.request(request);
      if ('error' in r) throw new Error(`transformers.js: ${r.error}`);
      return r.figures;
    },
    close: () => client.close(),
  };
}

if (!isMainThread && parentPort) await serve(workerData as string);
