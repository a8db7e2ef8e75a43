import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';

/** What the client saw of one request; times are performance.now() milliseconds. */
export interface RequestRecord {
  startMs: number;
  endMs: number;
  /** null on success; else a stable kind: `http_429`, `timeout`, `network:ECONNRESET`, `job_failed:timeout`, `bad_response`, ... */
  error: string | null;
  outputTokens: number;
  steps: number;
  /** Arrival times of streamed tokens (chat), for time to first token and inter-token latency. */
  tokenTimesMs: number[];
  queueS: number | null;
  runS: number | null;
}

/** One request of the benchmark: sends `input`, waits for the whole answer, never throws. */
export type SendRequest = (input: Record<string, unknown>) => Promise<RequestRecord>;

export interface DriverContext {
  dispatcher: Dispatcher;
  /** The URL's origin and path prefix; routes are appended to it. */
  origin: string;
  basePath: string;
  headers: Record<string, string>;
  model: string;
  timeoutMs: number;
}

export const now = (): number => performance.now();

export function emptyRecord(startMs: number): RequestRecord {
  return { startMs, endMs: startMs, error: null, outputTokens: 0, steps: 0, tokenTimesMs: [], queueS: null, runS: null };
}

export function failed(record: RequestRecord, error: string): RequestRecord {
  return { ...record, endMs: now(), error };
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Errors keep their kind so a reader can tell a timeout from a refused connection. */
export function thrownKind(err: unknown): string {
  if (err instanceof SyntaxError) return 'bad_response';
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string') return 'network';
  return TIMEOUT_CODES.has(code) ? 'timeout' : `network:${code}`;
}

export const isTimeout = (kind: string): boolean => kind === 'timeout';

/**
 * undici's own timeouts bound the wait for the answer's headers and between its chunks (events), without a
 * timer or AbortSignal per request, which would cost the client a third of its throughput on fast routes.
 */
function request(ctx: DriverContext, method: 'GET' | 'POST' | 'DELETE', path: string, headers: Record<string, string>, body?: string): Promise<Dispatcher.ResponseData> {
  return ctx.dispatcher.request({
    origin: ctx.origin,
    path: ctx.basePath + path,
    method,
    headers,
    body,
    headersTimeout: ctx.timeoutMs,
    bodyTimeout: ctx.timeoutMs,
  });
}

/** A POST of a JSON text; callers serialise each input once, not once a request. */
export function postJson(ctx: DriverContext, path: string, json: string, headers: Record<string, string>): Promise<Dispatcher.ResponseData> {
  return request(ctx, 'POST', path, headers, json);
}

export function get(ctx: DriverContext, path: string, headers: Record<string, string> = ctx.headers): Promise<Dispatcher.ResponseData> {
  return request(ctx, 'GET', path, headers);
}

export function del(ctx: DriverContext, path: string): Promise<Dispatcher.ResponseData> {
  return request(ctx, 'DELETE', path, ctx.headers);
}

/** One request, one JSON answer, end-to-end latency only: a 200 whose body is not JSON is a `bad_response`. */
export async function sendForJson(ctx: DriverContext, path: string, json: string, headers: Record<string, string>): Promise<RequestRecord> {
  const record = emptyRecord(now());
  try {
    const res = await postJson(ctx, path, json, headers);
    if (res.statusCode !== 200) {
      await res.body.dump({ limit: Number.MAX_SAFE_INTEGER });
      return failed(record, `http_${res.statusCode}`);
    }
    await res.body.json();
    return { ...record, endMs: now() };
  } catch (err) {
    return failed(record, thrownKind(err));
  }
}

/** Serialises each distinct input once. */
export function memoized(serialise: (input: Record<string, unknown>) => string): (input: Record<string, unknown>) => string {
  const cache = new WeakMap<object, string>();
  return (input) => {
    let text = cache.get(input);
    if (text === undefined) cache.set(input, (text = serialise(input)));
    return text;
  };
}

export const jsonHeaders = (ctx: DriverContext, extra: Record<string, string> = {}): Record<string, string> => ({ ...ctx.headers, 'content-type': 'application/json', ...extra });
