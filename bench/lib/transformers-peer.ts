// The peer of the chat figures: the same model served over HTTP the way a Node user would serve it with
// transformers.js (@huggingface/transformers): a plain node:http server in a process of its own, an OpenAI-style
// streamed chat route, `model.generate` with the library's TextStreamer writing each piece of text as it is
// decoded, and concurrent requests as concurrent `generate` calls (it has no batching across requests). The
// benchmark's client then measures it exactly as it measures the daemon. Its session gets the daemon's CPU
// settings, else it would measure another runtime.
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuThreading } from '../../src/runtime/session-factory.js';

export interface TransformersPeer {
  url: string;
  /** the library's version, which the figures are for */
  version: string;
  stop(): void;
}

interface ChatRequest {
  messages: { role: string; content: string }[];
  max_tokens?: number;
  /** as the daemon takes it: generate max_tokens whatever is sampled, end-of-sequence tokens included */
  ignore_eos?: boolean;
  stream_options?: { include_usage?: boolean };
}

type Generate = (request: ChatRequest, write: (text: string) => void) => Promise<number>;

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();

/** The files transformers.js reads; checked first since its own error for a missing one names none. */
const FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'];

async function load(dir: string): Promise<{ version: string; generate: Generate }> {
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

  // Returns the count of generated tokens, a final end-of-sequence token not counted (as the daemon's usage).
  const generate: Generate = async ({ messages, max_tokens = 256, ignore_eos = false }, write) => {
    let tokens = 0;
    const streamer = new TextStreamer(tokenizer, {
      skip_prompt: true,
      callback_function: write,
      token_callback_function: (ids) => {
        for (const id of ids) if (ignore_eos || !eos.has(id)) tokens += 1;
      },
    });
    const inputs = tokenizer.apply_chat_template(messages, { add_generation_prompt: true, return_dict: true });
    await model.generate({
      ...inputs,
      do_sample: false,
      max_new_tokens: max_tokens,
      // no end-of-sequence ids: nothing stops the loop early and no logit is masked, so the tokens are the ones
      // greedy picks, end-of-sequence included, as with the daemon's ignore_eos (min_new_tokens would mask them)
      ...(ignore_eos ? { eos_token_id: [] } : {}),
      streamer,
    });
    return tokens;
  };
  return { version: env.version, generate };
}

const chunk = (body: object) => `data: ${JSON.stringify(body)}\n\n`;

/** The server process: loads the model, listens on a free port, says `{port, version}` (or why not) on stdout. */
async function main(dir: string): Promise<void> {
  let loaded: Awaited<ReturnType<typeof load>>;
  try {
    loaded = await load(dir);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ unavailable: `transformers.js cannot load ${dir}: ${firstLine(e)}` })}\n`);
    return;
  }
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const request = JSON.parse(body) as ChatRequest;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      loaded
        .generate(request, (text) => void (text && res.write(chunk({ choices: [{ index: 0, delta: { content: text } }] }))))
        .then(
          (tokens) => {
            if (request.stream_options?.include_usage) res.write(chunk({ choices: [], usage: { completion_tokens: tokens } }));
            res.end('data: [DONE]\n\n');
          },
          (e: unknown) => res.end(chunk({ error: { message: firstLine(e) } })),
        );
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port, version: loaded.version })}\n`));
}

/** Starts the transformers.js server on the chat model in `dir`; `{ unavailable }` when it cannot load it. */
export async function startTransformersPeer(dir: string): Promise<TransformersPeer | { unavailable: string }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), path.resolve(dir)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.once('exit', (code) => resolve(JSON.stringify({ unavailable: `the transformers.js server exited with ${code}` })));
  });
  const said = JSON.parse(first) as { port: number; version: string } | { unavailable: string };
  if ('unavailable' in said) {
    child.kill();
    return said;
  }
  return { url: `http://127.0.0.1:${said.port}`, version: said.version, stop: () => void child.kill() };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv[2]!);
