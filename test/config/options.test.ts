import t from 'tap';
import { ConfigError, DEFAULT_CONFIG, helpText, parseConfig } from '../../src/config/options.js';

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
