import t from 'tap';
import { ConfigError, DEFAULT_CONFIG, MAX_DURATION_S, helpText, parseConfig } from '../../src/config/options.js';
import { parseSubmitRequest } from '../../src/jobs/submit-request.js';

t.test('defaults match the contract', async (t) => {
  const c = parseConfig([], {});
  t.equal(c.host, '127.0.0.1');
  t.equal(c.port, 8080);
  t.equal(c.queueSize, 64);
  t.equal(c.timeoutS, 600);
  t.equal(c.bodyLimitBytes, 32 * 1024 * 1024);
  t.equal(c.uploadLimitBytes, 64 * 1024 * 1024);
  t.same(c.preload, 'all');
});

t.test('every flag has an INFERNODE_ environment variable and the flag wins', async (t) => {
  const c = parseConfig(['--port', '9000'], { INFERNODE_PORT: '7000', INFERNODE_MODELS_DIR: '/m', INFERNODE_INSECURE_NO_AUTH: 'true' });
  t.equal(c.port, 9000);
  t.equal(c.modelsDir, '/m');
  t.equal(c.insecureNoAuth, true);
  const help = helpText();
  for (const flag of ['host', 'port', 'metrics-port', 'models-dir', 'preload', 'device', 'scratch-dir', 'tokens-file', 'insecure-no-auth', 'tls-cert', 'tls-key', 'tls-client-ca', 'queue-size', 'concurrency', 'timeout', 'max-timeout', 'output-ttl', 'drain-timeout', 'request-timeout', 'body-limit', 'upload-limit', 'webhook-secret', 'webhook-allow', 'video-encoder', 'compute-nice', 'log-level']) {
    t.match(help, `--${flag}`, `help documents --${flag}`);
    t.match(help, `INFERNODE_${flag.toUpperCase().replaceAll('-', '_')}`);
  }
});

t.test('sizes, durations, lists and per-type concurrency are parsed', async (t) => {
  const c = parseConfig(['--body-limit=1MiB', '--timeout', '10m', '--max-timeout', '2h', '--preload', 'a,b', '--concurrency', 'chat=4,image=1', '--webhook-allow', 'a.example.com, *.b.example.com']);
  t.equal(c.bodyLimitBytes, 1024 * 1024);
  t.equal(c.timeoutS, 600);
  t.equal(c.maxTimeoutS, 7200);
  t.same(c.preload, ['a', 'b']);
  t.equal(c.concurrency.chat, 4);
  t.equal(c.concurrency.image, 1);
  t.equal(c.concurrency.tensor, DEFAULT_CONFIG.concurrency.tensor);
  t.same(c.webhookAllow, ['a.example.com', '*.b.example.com']);
});

t.test('a bad flag or value is one line naming the flag', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--nope'], /unknown flag "--nope"/],
    [['--port', 'x'], /--port: expected an integer/],
    [['--port', '70000'], /--port/],
    [['--device', 'gpu'], /--device: expected auto, cpu or cuda:N/],
    [['--body-limit', '12 parsecs'], /--body-limit/],
    [['--concurrency', 'audio=2'], /--concurrency: unknown job type/],
    [['--timeout', '4000'], /--timeout: must not exceed --max-timeout/],
    [['--tls-cert', 'a.pem'], /--tls-key: TLS needs both/],
    [['--port'], /--port: expected a value/],
    [['--insecure-no-auth=yes'], /takes no value/],
    [['--compute-nice', '20'], /--compute-nice: expected an integer from 0 to 19/],
  ];
  for (const [argv, message] of cases) {
    const err = t.throws(() => parseConfig(argv, {})) as unknown as Error;
    t.ok(err instanceof ConfigError, argv.join(' '));
    t.match(err.message, message);
    t.notMatch(err.message, /\n/);
  }
});

t.test('a duration past the longest timer Node.js sets is refused, naming the limit', async (t) => {
  for (const flag of ['timeout', 'max-timeout', 'output-ttl', 'drain-timeout', 'request-timeout']) {
    const err = t.throws(() => parseConfig([`--${flag}`, '1000h'], {})) as unknown as Error;
    t.ok(err instanceof ConfigError, flag);
    t.match(err.message, new RegExp(`^--${flag}: at most ${MAX_DURATION_S}s .*got "1000h"$`));
  }
  const longest = `${MAX_DURATION_S}s`;
  const c = parseConfig(['--timeout', longest, '--max-timeout', longest, '--output-ttl', longest, '--drain-timeout', longest], {});
  t.equal(c.maxTimeoutS, MAX_DURATION_S);
  t.ok(MAX_DURATION_S * 1000 <= 2 ** 31 - 1);
});

t.test("a job's timeout_s and output_ttl_s are bounded by the flags, so no job timer can overflow either", async (t) => {
  const longest = `${MAX_DURATION_S}s`;
  const defaults = parseConfig(['--max-timeout', longest, '--output-ttl', longest], {});
  const job = (fields: Record<string, number>) => () => parseSubmitRequest({ type: 'tensor', model: 'm', input: {}, ...fields }, defaults);
  t.throws(job({ timeout_s: MAX_DURATION_S + 1 }), { code: 'invalid_input', field: 'timeout_s' });
  t.throws(job({ output_ttl_s: MAX_DURATION_S + 1 }), { code: 'invalid_input', field: 'output_ttl_s' });
  t.equal(job({ timeout_s: MAX_DURATION_S })().timeoutS, MAX_DURATION_S);
});

t.test('integer flags take plain decimal digits only', async (t) => {
  for (const raw of ['0x4849', '1.85e4', ' ', '18530.0', '+18530', '1_000', '18530 ']) {
    const err = t.throws(() => parseConfig(['--port', raw], {})) as unknown as Error;
    t.match(err.message, /^--port: expected an integer from 0 to 65535/, JSON.stringify(raw));
  }
  t.throws(() => parseConfig(['--concurrency', 'chat=0x10'], {}), /--concurrency: expected an integer/);
  t.throws(() => parseConfig([], { INFERNODE_QUEUE_SIZE: '1e3' }), /--queue-size: expected an integer/);
  t.equal(parseConfig(['--port', '08080'], {}).port, 8080);
});
