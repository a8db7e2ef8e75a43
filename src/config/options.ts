import { JOB_TYPES, type JobType } from '../jobs/types.js';
import { parseDuration, parseSize } from './units.js';

export interface Config {
  host: string;
  port: number;
  metricsPort: number | null;
  modelsDir: string;
  preload: 'all' | 'none' | string[];
  device: string;
  scratchDir: string | null;
  tokensFile: string | null;
  insecureNoAuth: boolean;
  tlsCert: string | null;
  tlsKey: string | null;
  tlsClientCa: string | null;
  queueSize: number;
  concurrency: Record<JobType, number>;
  timeoutS: number;
  maxTimeoutS: number;
  outputTtlS: number;
  drainTimeoutS: number;
  /** the longest a client may take to send a whole request; past it, the upload so far is erased */
  requestTimeoutS: number;
  bodyLimitBytes: number;
  uploadLimitBytes: number;
  webhookSecret: string | null;
  webhookAllow: string[];
  videoEncoder: string;
  /** nice value of compute threads and ffmpeg (src/runtime/thread-priority.ts) */
  computeNice: number;
  logLevel: string;
}

/** Continuous batching makes chat concurrency the batch bound; diffusion and video own the device per job. */
export const DEFAULT_CONCURRENCY: Record<JobType, number> = { chat: 16, image: 2, video: 1, tensor: 8 };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Parse<T> = (raw: string, flag: string) => T;

interface OptionSpec<K extends keyof Config> {
  key: K;
  flag: string;
  help: string;
  boolean?: true;
  parse?: Parse<Config[K]>;
}

const fail = (flag: string, why: string): never => {
  throw new ConfigError(`--${flag}: ${why}`);
};

const int =
  (min: number, max: number): Parse<number> =>
  (raw, flag) => {
    // digits only: Number() would take "0x4849", "1.85e4" and " " (as 0)
    const n = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
    return n >= min && n <= max ? n : fail(flag, `expected an integer from ${min} to ${max}, got "${raw}"`);
  };
const size: Parse<number> = (raw, flag) => {
  const n = parseSize(raw);
  return n !== null && n > 0 ? n : fail(flag, `expected a size such as 32MiB or 1048576, got "${raw}"`);
};
/** Node's timers take at most 2^31-1 ms; a longer one fires at once (a job would time out as it starts). */
export const MAX_DURATION_S = Math.floor((2 ** 31 - 1) / 1000);
const duration: Parse<number> = (raw, flag) => {
  const n = parseDuration(raw);
  if (n === null || n <= 0) return fail(flag, `expected a duration such as 600, 600s or 10m, got "${raw}"`);
  return n <= MAX_DURATION_S ? n : fail(flag, `at most ${MAX_DURATION_S}s (about 24.8 days, the longest timer Node.js sets), got "${raw}"`);
};
const text: Parse<string> = (raw, flag) => (raw.length > 0 ? raw : fail(flag, 'expected a value'));
const list: Parse<string[]> = (raw) => raw.split(',').map((s) => s.trim()).filter(Boolean);

const preload: Parse<Config['preload']> = (raw) => (raw === 'all' || raw === 'none' ? raw : list(raw, 'preload'));
const device: Parse<string> = (raw, flag) =>
  /^(auto|cpu|cuda:\d+(,cuda:\d+)*)$/.test(raw) ? raw : fail(flag, `expected auto, cpu or cuda:N[,cuda:M...], got "${raw}"`);
const logLevel: Parse<string> = (raw, flag) =>
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(raw) ? raw : fail(flag, `unknown level "${raw}"`);
const concurrency: Parse<Record<JobType, number>> = (raw, flag) => {
  const out = { ...DEFAULT_CONCURRENCY };
  if (/^\d+$/.test(raw)) {
    const n = int(1, 1024)(raw, flag);
    for (const t of JOB_TYPES) out[t] = n;
    return out;
  }
  for (const part of list(raw, flag)) {
    const [type, value = ''] = part.split('=');
    if (!JOB_TYPES.includes(type as JobType)) fail(flag, `unknown job type "${type}" (expected ${JOB_TYPES.join(', ')})`);
    out[type as JobType] = int(1, 1024)(value, flag);
  }
  return out;
};

const SPECS: OptionSpec<keyof Config>[] = [
  { key: 'host', flag: 'host', help: 'address the API listens on [127.0.0.1]', parse: text },
  { key: 'port', flag: 'port', help: 'port of the API [8080]', parse: int(0, 65535) },
  { key: 'metricsPort', flag: 'metrics-port', help: 'also serve /metrics on this port, without auth [none]', parse: int(0, 65535) },
  { key: 'modelsDir', flag: 'models-dir', help: 'directory of model directories [./models]', parse: text },
  { key: 'preload', flag: 'preload', help: 'models to load at start: all, none, or a comma list [all]', parse: preload },
  { key: 'device', flag: 'device', help: 'auto, cpu, or cuda:0,cuda:1,... [auto]', parse: device },
  { key: 'scratchDir', flag: 'scratch-dir', help: 'scratch root [/dev/shm/infernode-<port> when tmpfs exists, else the OS temp dir]', parse: text },
  { key: 'tokensFile', flag: 'tokens-file', help: 'tokens file: "<token> <scope>[,<scope>...] [name]" per line, or JSON', parse: text },
  { key: 'insecureNoAuth', flag: 'insecure-no-auth', help: 'allow a non-loopback address without tokens', boolean: true },
  { key: 'tlsCert', flag: 'tls-cert', help: 'TLS certificate (PEM)', parse: text },
  { key: 'tlsKey', flag: 'tls-key', help: 'TLS private key (PEM)', parse: text },
  { key: 'tlsClientCa', flag: 'tls-client-ca', help: 'require client certificates signed by this CA (mTLS)', parse: text },
  { key: 'queueSize', flag: 'queue-size', help: 'bound of each device queue [64]', parse: int(1, 1_000_000) },
  { key: 'concurrency', flag: 'concurrency', help: 'jobs running at once per device: N, or type=N,... [chat=16,image=2,video=1,tensor=8]', parse: concurrency },
  { key: 'timeoutS', flag: 'timeout', help: 'default timeout_s of a job, queue and run [600s]', parse: duration },
  { key: 'maxTimeoutS', flag: 'max-timeout', help: 'largest timeout_s a job may ask for [3600s]', parse: duration },
  { key: 'outputTtlS', flag: 'output-ttl', help: 'default and largest output_ttl_s [600s]', parse: duration },
  { key: 'drainTimeoutS', flag: 'drain-timeout', help: 'SIGTERM grace for running jobs [30s]', parse: duration },
  { key: 'requestTimeoutS', flag: 'request-timeout', help: 'longest time to receive a whole request, upload included (408 past it) [300s]', parse: duration },
  { key: 'bodyLimitBytes', flag: 'body-limit', help: 'largest request body [32MiB]', parse: size },
  { key: 'uploadLimitBytes', flag: 'upload-limit', help: 'largest multipart upload [64MiB]', parse: size },
  { key: 'webhookSecret', flag: 'webhook-secret', help: 'HMAC-SHA256 key that signs webhooks', parse: text },
  { key: 'webhookAllow', flag: 'webhook-allow', help: 'hosts webhooks may reach, comma list, *.example.com forms [none]', parse: list },
  { key: 'videoEncoder', flag: 'video-encoder', help: 'auto, libx264, h264_nvenc, ... [auto]', parse: text },
  { key: 'computeNice', flag: 'compute-nice', help: 'nice value of inference, media and ffmpeg threads, so HTTP stays responsive; 0 = as the main thread [10]', parse: int(0, 19) },
  { key: 'logLevel', flag: 'log-level', help: 'pino level [info]', parse: logLevel },
];

export const DEFAULT_CONFIG: Config = {
  host: '127.0.0.1',
  port: 8080,
  metricsPort: null,
  modelsDir: './models',
  preload: 'all',
  device: 'auto',
  scratchDir: null,
  tokensFile: null,
  insecureNoAuth: false,
  tlsCert: null,
  tlsKey: null,
  tlsClientCa: null,
  queueSize: 64,
  concurrency: { ...DEFAULT_CONCURRENCY },
  timeoutS: 600,
  maxTimeoutS: 3600,
  outputTtlS: 600,
  drainTimeoutS: 30,
  requestTimeoutS: 300,
  bodyLimitBytes: 32 * 1024 ** 2,
  uploadLimitBytes: 64 * 1024 ** 2,
  webhookSecret: null,
  webhookAllow: [],
  videoEncoder: 'auto',
  computeNice: 10,
  logLevel: 'info',
};

const envName = (flag: string): string => `INFERNODE_${flag.toUpperCase().replaceAll('-', '_')}`;
const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);

export function helpText(): string {
  const rows = SPECS.map((s) => {
    const left = `  --${s.flag}${s.boolean ? '' : ' <value>'}`;
    return `${left.padEnd(32)} ${s.help}\n${' '.repeat(33)}env ${envName(s.flag)}`;
  });
  return [
    'Usage: infernode serve [flags]',
    '       infernode models list [--models-dir DIR]',
    '       infernode models check <dir>',
    '       infernode bench --url URL ... (infernode bench --help)',
    '',
    'Flags of serve (each also an environment variable; the flag wins):',
    ...rows,
    '  --help                           this text',
  ].join('\n');
}

/**
 * Parses `serve` flags over environment variables over defaults. Throws ConfigError with one line naming
 * the flag on any bad flag or value.
 */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  const config: Config = structuredClone(DEFAULT_CONFIG);
  const set = (spec: OptionSpec<keyof Config>, raw: string | true): void => {
    (config as unknown as Record<string, unknown>)[spec.key] =
      raw === true ? true : spec.boolean ? TRUE_WORDS.has(raw.toLowerCase()) : spec.parse!(raw, spec.flag);
  };
  for (const spec of SPECS) {
    const raw = env[envName(spec.flag)];
    if (raw !== undefined && raw !== '') set(spec, raw);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const spec = match && SPECS.find((s) => s.flag === match[1]);
    if (!match || !spec) throw new ConfigError(`unknown flag "${arg.slice(0, 64)}" (see infernode --help)`);
    if (spec.boolean) {
      if (match[2] !== undefined) fail(spec.flag, 'takes no value');
      set(spec, true);
      continue;
    }
    const value = match[2] ?? argv[++i];
    if (value === undefined) fail(spec.flag, 'expected a value');
    set(spec, value!);
  }
  if (config.maxTimeoutS < config.timeoutS) fail('timeout', `must not exceed --max-timeout (${config.maxTimeoutS}s)`);
  if ((config.tlsCert === null) !== (config.tlsKey === null)) fail(config.tlsCert ? 'tls-key' : 'tls-cert', 'TLS needs both --tls-cert and --tls-key');
  if (config.tlsClientCa && !config.tlsCert) fail('tls-client-ca', 'mTLS needs --tls-cert and --tls-key too');
  return config;
}
