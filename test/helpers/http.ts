import net from 'node:net';
import type { TestNode } from './node.js';

export const TENSOR_JOB = {
  type: 'tensor',
  model: 'tiny-tensor',
  input: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] },
};

export interface Reply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

/** fetch against a test node; JSON bodies in and out. */
export async function call(node: TestNode, method: string, route: string, options: { body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers['authorization'] = `Bearer ${options.token}`;
  let body: RequestInit['body'] | undefined;
  if (options.body instanceof FormData) body = options.body;
  else if (typeof options.body === 'string') {
    body = options.body;
    headers['content-type'] ??= 'application/json';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(node.url + route, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** Reads an SSE stream to its end, as parsed events. */
export async function readEvents(node: TestNode, route: string, headers: Record<string, string> = {}): Promise<Array<{ id: number; event: string; data: any }>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(node.url + route, { headers });
  if (res.status !== 200) throw new Error(`events answered ${res.status}: ${await res.text()}`);
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((block) => block.includes('data:'))
    .map((block) => {
      const field = (name: string): string => block.split('\n').find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2) ?? '';
      return { id: Number(field('id')), event: field('event'), data: JSON.parse(field('data')) };
    });
}

/**
 * Writes `raw` bytes to the node on a connection of their own and returns all it answered, once it closed the
 * connection or after `ms` (for requests no HTTP client would send: a bad chunk, a lying Content-Length).
 */
export async function rawExchange(node: TestNode, raw: string | Buffer, ms = 5000): Promise<string> {
  const socket = net.connect(Number(new URL(node.url).port), '127.0.0.1');
  let answer = '';
  socket.on('data', (d) => (answer += d));
  socket.on('error', () => {});
  await new Promise((r) => socket.once('connect', r));
  socket.write(raw);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([new Promise((r) => socket.once('close', r)), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
  socket.destroy();
  return answer;
}
