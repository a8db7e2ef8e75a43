// Chat figures of issue 3, measured side by side in one run:
//  - one stream: tokens/s through the HTTP stream vs a bare onnxruntime-node greedy loop (same model, prompt);
//  - 8 and 32 concurrent streams: total tokens/s, and its ratio to one stream (continuous batching);
//  - time to first token for a 64-token prompt: daemon p50 minus the bare prefill p50.
// Two workloads: fixed-length completions of 256 tokens (`ignore_eos`, as vLLM's serving benchmark runs them,
// and the bare loop likewise ignores end-of-sequence), which measure streaming; and greedy text that ends at
// the model's end-of-sequence token (36 tokens on tiny-chat), where the per-request cost weighs most.
// The daemon runs in its own process (`infernode serve`); the client here only reads the streams. The peer,
// transformers.js serving the same model over HTTP, is measured by the same client at the same concurrencies.
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { request } from 'undici';
import { ChatText, readChatModelFiles } from '../src/pipelines/chat/model-files.js';
import { startBareGreedy } from './lib/bare-greedy.js';
import { startTransformersPeer } from './lib/transformers-peer.js';
import { spawnDaemon } from './lib/daemon-process.js';
import { benchModels, fmt, machine, median, repeat, waitReady } from './lib/measure.js';

const RUNS = 11;
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

/**
 * One streamed request; TTFT is when the first non-empty text arrives, tokens come from the usage chunk. The
 * client is undici's request rather than fetch, whose web streams cost the shared cores more per chunk.
 */
async function stream(url: string, route: 'chat/completions' | 'completions', body: Record<string, unknown>): Promise<StreamFigures> {
  const started = performance.now();
  const res = await request(`${url}/v1/${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tiny-chat', stream: true, stream_options: { include_usage: true }, ...body }),
  });
  res.body.setEncoding('utf8');
  let buffered = '';
  let ttft = 0;
  let tokens = 0;
  for await (const part of res.body) {
    buffered += part as string;
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

const NO_EOS: number[] = [];
const tps = (f: { tokens: number; seconds: number }) => f.tokens / f.seconds;
const steady = (f: StreamFigures) => (f.tokens - 1) / (f.seconds - f.ttft);

const dir = path.join(await benchModels(['tiny-chat', 'tiny-tensor']), 'tiny-chat');
const text = new ChatText(await readChatModelFiles(dir, undefined));
const bare = await startBareGreedy(dir);
const bareLoop = (promptIds: number[], eos: readonly number[], maxTokens: number, batch = 1) => bare.request({ promptIds, eosIds: [...eos], maxTokens, batch });
const peer = await startTransformersPeer(dir);
const chatIds = text.encodePrompt({ messages: MESSAGES });
const ids64 = text.encodePrompt({ prompt: PROMPT_64 });
const daemon = await startDaemon();
const workloads = [
  { name: 'fixed 256 tokens (ignore_eos)', body: { messages: MESSAGES, temperature: 0, max_tokens: 256, ignore_eos: true }, eos: NO_EOS },
  { name: 'greedy to end-of-sequence', body: { messages: MESSAGES, temperature: 0, max_tokens: 256 }, eos: [...text.eosIds] },
];
const CONCURRENCY = [1, 8, 32] as const;

try {
  await bareLoop(chatIds, [...text.eosIds], 256);
  await stream(daemon.url, 'chat/completions', workloads[0]!.body);
  if (!('unavailable' in peer)) await stream(peer.url, 'chat/completions', workloads[0]!.body);
  // n streams at once against a server (the daemon, or the transformers.js peer): the same client for both
  const concurrent = async (url: string, n: number, body: Record<string, unknown>) => {
    const started = performance.now();
    const all = await Promise.all(Array.from({ length: n }, () => stream(url, 'chat/completions', body)));
    return { tokens: all.reduce((s, r) => s + r.tokens, 0), seconds: (performance.now() - started) / 1000, ttft: median(all.map((r) => r.ttft)) };
  };
  console.log(`chat-stream on tiny-chat (${machine()}); medians of ${RUNS} runs; prompt ${chatIds.length} tokens`);
  for (const { name, body, eos } of workloads) {
    // each run measures every figure back to back, so the ratios compare runs made under the same load
    const runs = await repeat(RUNS, async () => {
      const alone = await bareLoop(chatIds, eos, 256);
      const daemonAt = [];
      for (const n of CONCURRENCY) daemonAt.push(await concurrent(daemon.url, n, body));
      const bare8 = await bareLoop(chatIds, eos, 256, 8);
      const bare32 = await bareLoop(chatIds, eos, 256, 32);
      const peerAt = [];
      if (!('unavailable' in peer)) for (const n of CONCURRENCY) peerAt.push(await concurrent(peer.url, n, body));
      return { bare: tps(alone), bareSteady: (alone.tokens - 1) / (alone.seconds - alone.prefill), daemon: daemonAt, bare8: tps(bare8), bare32: tps(bare32), peer: peerAt, tokens: daemonAt[0]!.tokens };
    });
    const m = (f: (r: (typeof runs)[number]) => number) => median(runs.map(f));
    const at = (r: (typeof runs)[number], i: number) => tps(r.daemon[i]!);
    console.log(`\n${name}: ${runs[0]!.tokens} completion tokens per request`);
    console.log(`bare onnxruntime-node greedy loop  ${fmt(m((r) => r.bare), 0)} tokens/s`);
    console.log(`1 HTTP stream                      ${fmt(m((r) => at(r, 0)), 0)} tokens/s   ratio to bare ${fmt(m((r) => at(r, 0) / r.bare))} (target >= 0.9)`);
    // the same stream after its first token against the bare loop after its prefill: what streaming costs once a
    // request is under way, apart from the first token's trip through an idle node
    console.log(
      `  after the first token            ${fmt(m((r) => steady(r.daemon[0]!)), 0)} tokens/s   bare after prefill ${fmt(m((r) => r.bareSteady), 0)}   ratio ${fmt(m((r) => steady(r.daemon[0]!) / r.bareSteady))}`,
    );
    console.log(`8 concurrent streams               ${fmt(m((r) => at(r, 1)), 0)} tokens/s   ratio to 1 stream ${fmt(m((r) => at(r, 1) / at(r, 0)))} (target >= 3)`);
    console.log(`32 concurrent streams              ${fmt(m((r) => at(r, 2)), 0)} tokens/s   ratio to 1 stream ${fmt(m((r) => at(r, 2) / at(r, 0)))}`);
    // what the graph itself gives when batched: the ceiling of the two rows above
    console.log(`bare loop, batch of 8              ${fmt(m((r) => r.bare8), 0)} tokens/s   ratio to bare ${fmt(m((r) => r.bare8 / r.bare))}; 8 streams reach ${fmt(m((r) => at(r, 1) / r.bare8))} of it`);
    console.log(`bare loop, batch of 32             ${fmt(m((r) => r.bare32), 0)} tokens/s   ratio to bare ${fmt(m((r) => r.bare32 / r.bare))}; 32 streams reach ${fmt(m((r) => at(r, 2) / r.bare32))} of it`);
    if ('unavailable' in peer) {
      console.log(`transformers.js peer: not measured (${peer.unavailable})`);
      continue;
    }
    console.log(`transformers.js ${peer.version} peer, served over HTTP by a plain node:http server (bench/lib/transformers-peer.ts): tokens/s, TTFT p50`);
    CONCURRENCY.forEach((n, i) => {
      const peerTps = m((r) => tps(r.peer[i]!));
      console.log(
        `  ${String(n).padStart(2)} at once   daemon ${fmt(m((r) => at(r, i)), 0).padStart(6)}   transformers.js ${fmt(peerTps, 0).padStart(6)}   ratio ${fmt(m((r) => at(r, i) / tps(r.peer[i]!)))}` +
          `   TTFT p50 daemon ${fmt(m((r) => r.daemon[i]!.ttft) * 1000)} ms, transformers.js ${fmt(m((r) => r.peer[i]!.ttft) * 1000)} ms`,
      );
    });
  }
  const ttfts = await repeat(RUNS, async () => {
    const barePrefill = (await bareLoop(ids64, [...text.eosIds], 1)).prefill;
    const ttft = (await stream(daemon.url, 'completions', { prompt: PROMPT_64, max_tokens: 1, temperature: 0 })).ttft;
    return { barePrefill, ttft };
  });
  const m = (f: (r: (typeof ttfts)[number]) => number) => median(ttfts.map(f));
  console.log(`\n64-token prompt (${ids64.length} tokens): bare prefill p50 ${fmt(m((r) => r.barePrefill) * 1000)} ms, daemon TTFT p50 ${fmt(m((r) => r.ttft) * 1000)} ms, difference ${fmt(m((r) => r.ttft - r.barePrefill) * 1000)} ms (target <= 5)`);
} finally {
  daemon.stop();
  await bare.close();
  if (!('unavailable' in peer)) peer.stop();
}
