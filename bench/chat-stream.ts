// Chat figures of issue 3, measured side by side in one run:
//  - one stream: tokens/s through the HTTP stream vs a bare onnxruntime-node greedy loop (same model, prompt);
//  - 8 and 32 concurrent streams: total tokens/s, and its ratio to one stream (continuous batching);
//  - time to first token for a 64-token prompt: daemon p50 minus the bare prefill p50.
// The daemon runs in its own process (`infernode serve`); the client here only reads the streams.
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { createSessionFactory } from '../src/runtime/session-factory.js';
import { Decoder, describeDecoder } from '../src/pipelines/chat/decoder.js';
import { ChatText, readChatModelFiles } from '../src/pipelines/chat/model-files.js';
import { argmax } from '../src/pipelines/chat/sampling.js';
import { spawnDaemon } from './lib/daemon-process.js';
import { CPU, benchModels, fmt, machine, median, repeat, waitReady } from './lib/measure.js';

const RUNS = 7;
const MESSAGES = [{ role: 'user' as const, content: 'Tell me about the river and the garden' }];
const PROMPT_64 = Array.from({ length: 32 }, () => 'the river').join(' ');

async function startDaemon(): Promise<{ url: string; stop: () => void }> {
  const args = ['--models-dir', await benchModels(['tiny-chat']), '--device', 'cpu', '--log-level', 'warn', '--concurrency', 'chat=32', '--queue-size', '256'];
  const daemon = await spawnDaemon(args);
  await waitReady(daemon.url);
  return { url: daemon.url, stop: () => void daemon.child.kill('SIGTERM') };
}

interface StreamFigures {
  tokens: number;
  seconds: number;
  ttft: number;
}

/** One streamed request; TTFT is when the first non-empty text arrives, tokens come from the usage chunk. */
async function stream(url: string, route: 'chat/completions' | 'completions', body: Record<string, unknown>): Promise<StreamFigures> {
  const started = performance.now();
  const res = await fetch(`${url}/v1/${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tiny-chat', stream: true, stream_options: { include_usage: true }, ...body }),
  });
  const decoder = new TextDecoder();
  let buffered = '';
  let ttft = 0;
  let tokens = 0;
  for await (const part of res.body!) {
    buffered += decoder.decode(part as Uint8Array, { stream: true });
    const events = buffered.split('\n\n');
    buffered = events.pop()!;
    for (const e of events) {
      const data = e.slice(e.indexOf('data: ') + 6);
      if (data === '[DONE]') continue;
      const chunk = JSON.parse(data) as { choices: { delta?: { content?: string }; text?: string }[]; usage?: { completion_tokens: number } };
      if (!ttft && (chunk.choices[0]?.delta?.content || chunk.choices[0]?.text)) ttft = (performance.now() - started) / 1000;
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    }
  }
  return { tokens, seconds: (performance.now() - started) / 1000, ttft };
}

async function bareLoop(decoder: Decoder, promptIds: number[], eos: ReadonlySet<number>, maxTokens: number) {
  const started = performance.now();
  const vocab = decoder.shape.vocabSize;
  let { logits, cache } = await decoder.prefill([promptIds], () => undefined);
  const prefill = (performance.now() - started) / 1000;
  let tokens = 0;
  for (let next = argmax(logits.subarray(0, vocab)); !eos.has(next) && tokens < maxTokens; next = argmax(logits.subarray(0, vocab))) {
    tokens += 1;
    if (tokens === maxTokens) break;
    ({ logits, cache } = await decoder.step([next], [cache.length], cache, () => undefined));
  }
  return { tokens, seconds: (performance.now() - started) / 1000, prefill };
}

const dir = path.join(await benchModels(['tiny-chat', 'tiny-tensor']), 'tiny-chat');
const files = await readChatModelFiles(dir, undefined);
const text = new ChatText(files);
// the daemon's own CPU session settings, so that the bare loop runs the same ONNX Runtime runs
const session = await createSessionFactory(CPU).create(files.graph);
const decoder = new Decoder(session, describeDecoder(session, files.config));
const chatIds = text.encodePrompt({ messages: MESSAGES });
const ids64 = text.encodePrompt({ prompt: PROMPT_64 });
const daemon = await startDaemon();
const greedy = { messages: MESSAGES, temperature: 0, max_tokens: 256 };

try {
  await bareLoop(decoder, chatIds, text.eosIds, 256);
  await stream(daemon.url, 'chat/completions', greedy);
  const concurrent = async (n: number) => {
    const started = performance.now();
    const all = await Promise.all(Array.from({ length: n }, () => stream(daemon.url, 'chat/completions', greedy)));
    return all.reduce((s, r) => s + r.tokens, 0) / ((performance.now() - started) / 1000);
  };
  // each run measures every figure back to back, so the ratios compare runs made under the same load
  const runs = await repeat(RUNS, async () => {
    const bare = await bareLoop(decoder, chatIds, text.eosIds, 256);
    const one = await stream(daemon.url, 'chat/completions', greedy);
    const barePrefill = (await bareLoop(decoder, ids64, text.eosIds, 1)).prefill;
    const ttft = (await stream(daemon.url, 'completions', { prompt: PROMPT_64, max_tokens: 1, temperature: 0 })).ttft;
    return { bare: bare.tokens / bare.seconds, one: one.tokens / one.seconds, eight: await concurrent(8), many: await concurrent(32), barePrefill, ttft, tokens: one.tokens };
  });
  const m = (f: (r: (typeof runs)[number]) => number) => median(runs.map(f));
  const [bareTps, oneTps, eightTps, tps32] = [m((r) => r.bare), m((r) => r.one), m((r) => r.eight), m((r) => r.many)];

  console.log(`chat-stream on tiny-chat (${machine()}); medians of ${RUNS} runs`);
  console.log(`prompt ${chatIds.length} tokens, greedy, ${runs[0]!.tokens} completion tokens per request`);
  console.log(`bare onnxruntime-node greedy loop  ${fmt(bareTps, 0)} tokens/s`);
  console.log(`1 HTTP stream                      ${fmt(oneTps, 0)} tokens/s   ratio to bare ${fmt(m((r) => r.one / r.bare))} (target >= 0.9)`);
  console.log(`8 concurrent streams               ${fmt(eightTps, 0)} tokens/s   ratio to 1 stream ${fmt(m((r) => r.eight / r.one))} (target >= 3)`);
  console.log(`32 concurrent streams              ${fmt(tps32, 0)} tokens/s   ratio to 1 stream ${fmt(m((r) => r.many / r.one))}`);
  console.log(`64-token prompt (${ids64.length} tokens): bare prefill p50 ${fmt(m((r) => r.barePrefill) * 1000)} ms, daemon TTFT p50 ${fmt(m((r) => r.ttft) * 1000)} ms, difference ${fmt(m((r) => r.ttft - r.barePrefill) * 1000)} ms (target <= 5)`);
} finally {
  daemon.stop();
  await session.release();
}
