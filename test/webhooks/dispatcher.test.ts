import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { ConfigError } from '../../src/config/options.js';
import { parseWebhookAllow } from '../../src/jobs/webhooks/allowlist.js';
import { WebhookDispatcher, webhookDispatcherFromConfig, type WebhookDispatcherOptions } from '../../src/jobs/webhooks/dispatcher.js';
import { verifySignature } from '../../src/jobs/webhooks/signature.js';

const SECRET = 'whsec-0123456789abcdef';
const JOB = { id: 'job_01TEST', type: 'tensor', status: 'succeeded', result: { outputs: [] } };

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A webhook receiver on 127.0.0.1 answering with `statuses` in turn (the last one repeats); "drop" closes
 * the connection without an answer.
 */
async function receiver(t: Test, statuses: Array<number | 'drop'>, headers: Record<string, string> = {}) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      const status = statuses[Math.min(received.length, statuses.length) - 1]!;
      if (status === 'drop') req.socket.destroy();
      else res.writeHead(status, headers).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  return { received, port, url: `http://127.0.0.1:${port}/hooks/jobs`, allow: parseWebhookAllow([`127.0.0.1:${port}`]) };
}

function dispatcher(t: Test, options: Partial<WebhookDispatcherOptions> & Pick<WebhookDispatcherOptions, 'allow'>, logs: string[] = []): WebhookDispatcher {
  const logger = { info: (obj: object, msg: string) => logs.push(JSON.stringify({ ...obj, msg })), warn: (obj: object, msg: string) => logs.push(JSON.stringify({ ...obj, msg })) };
  const d = new WebhookDispatcher({ secret: SECRET, maxAttempts: 4, baseDelayMs: 5, logger: logger as never, ...options });
  t.teardown(() => d.close());
  return d;
}

t.test('a delivery is a signed JSON POST of the job object', async (t) => {
  const hook = await receiver(t, [204]);
  const d = dispatcher(t, { allow: hook.allow });
  d.deliver(hook.url, JOB);
  await d.idle();
  t.equal(hook.received.length, 1);
  const [delivery] = hook.received;
  t.equal(delivery!.headers['content-type'], 'application/json');
  t.same(JSON.parse(delivery!.body), JOB);
  t.ok(verifySignature(SECRET, delivery!.headers['infernode-signature'] as string, delivery!.body, 60));
});

t.test('deliver returns before the request is made', async (t) => {
  const hook = await receiver(t, [200]);
  const d = dispatcher(t, { allow: hook.allow });
  t.equal(d.deliver(hook.url, JOB), undefined);
  t.equal(hook.received.length, 0);
  await d.idle();
  t.equal(hook.received.length, 1);
});

t.test('a 500 is retried until the receiver takes it, under one delivery id', async (t) => {
  const hook = await receiver(t, [500, 200]);
  const d = dispatcher(t, { allow: hook.allow });
  d.deliver(hook.url, JOB);
  await d.idle();
  t.equal(hook.received.length, 2);
  t.equal(hook.received[0]!.headers['infernode-delivery'], hook.received[1]!.headers['infernode-delivery']);
  t.ok(verifySignature(SECRET, hook.received[1]!.headers['infernode-signature'] as string, hook.received[1]!.body, 60));
});

t.test('a 429 is retried', async (t) => {
  const hook = await receiver(t, [429, 200]);
  const d = dispatcher(t, { allow: hook.allow });
  d.deliver(hook.url, JOB);
  await d.idle();
  t.equal(hook.received.length, 2);
});

t.test('a dropped connection is retried', async (t) => {
  const hook = await receiver(t, ['drop', 200]);
  const d = dispatcher(t, { allow: hook.allow });
  d.deliver(hook.url, JOB);
  await d.idle();
  t.equal(hook.received.length, 2);
});

t.test('a 400 is not retried', async (t) => {
  const hook = await receiver(t, [400, 200]);
  const d = dispatcher(t, { allow: hook.allow });
  d.deliver(hook.url, JOB);
  await d.idle();
  t.equal(hook.received.length, 1);
});

t.test('a redirect is not followed', async (t) => {
  const target = await receiver(t, [200]);
  const hook = await receiver(t, [302], { location: target.url });
  const d = dispatcher(t, { allow: parseWebhookAllow([`127.0.0.1:${hook.port}`, `127.0.0.1:${target.port}`]) });
  d.deliver(hook.url, JOB);
  await d.idle();
  t.equal(hook.received.length, 1);
  t.equal(target.received.length, 0);
});

t.test('attempts stop at maxAttempts', async (t) => {
  const hook = await receiver(t, [503]);
  const d = dispatcher(t, { allow: hook.allow, maxAttempts: 3 });
  d.deliver(hook.url, JOB);
  await d.idle();
  t.equal(hook.received.length, 3);
});

t.test('a host that is not allowed is never contacted', async (t) => {
  const hook = await receiver(t, [200]);
  const d = dispatcher(t, { allow: parseWebhookAllow(['orchestrator.internal']) });
  d.deliver(hook.url, JOB);
  d.deliver(hook.url.replace('127.0.0.1', 'localhost'), JOB);
  await d.idle();
  t.equal(hook.received.length, 0);
});

t.test('close stops a delivery waiting for its retry', async (t) => {
  const hook = await receiver(t, [500, 200]);
  const d = dispatcher(t, { allow: hook.allow, baseDelayMs: 600_000, maxDelayMs: 600_000 });
  d.deliver(hook.url, JOB);
  while (hook.received.length === 0) await new Promise((resolve) => setImmediate(resolve));
  await d.close();
  t.equal(hook.received.length, 1);
});

t.test('after close nothing more is sent', async (t) => {
  const hook = await receiver(t, [200]);
  const d = dispatcher(t, { allow: hook.allow });
  await d.close();
  d.deliver(hook.url, JOB);
  await d.idle();
  t.equal(hook.received.length, 0);
});

t.test('logs name the job and host but never the URL\'s path or query', async (t) => {
  const hook = await receiver(t, [500, 200]);
  const logs: string[] = [];
  const d = dispatcher(t, { allow: hook.allow }, logs);
  d.deliver(`${hook.url}?key=canary-secret`, JOB);
  await d.idle();
  t.ok(logs.some((line) => line.includes(JOB.id) && line.includes('webhook delivered')));
  t.notOk(logs.some((line) => line.includes('canary-secret') || line.includes('/hooks/jobs')));
});

t.test('from the config, hosts without a long enough secret are refused at start', async (t) => {
  t.throws(() => webhookDispatcherFromConfig({ webhookSecret: null, webhookAllow: ['hooks.internal'] }), ConfigError);
  t.throws(() => webhookDispatcherFromConfig({ webhookSecret: 'short', webhookAllow: ['hooks.internal'] }), ConfigError);
  const off = webhookDispatcherFromConfig({ webhookSecret: null, webhookAllow: [] });
  t.teardown(() => off.close());
  t.match(off.check('https://hooks.internal/'), /webhooks are off/);
});

t.test('a receiver that sends its body a byte at a time holds neither the delivery nor shutdown', async (t) => {
  let bodyFinished = false;
  const server = http.createServer((req, res) => {
    req.resume().on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let left = 20;
      const drip = setInterval(() => {
        if (res.destroyed || left-- === 0) {
          clearInterval(drip);
          if (!res.destroyed) res.end(() => (bodyFinished = true));
          return;
        }
        res.write('.');
      }, 100);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  const logs: string[] = [];
  const d = dispatcher(t, { allow: parseWebhookAllow([`127.0.0.1:${port}`]) }, logs);
  d.deliver(`http://127.0.0.1:${port}/slow`, JOB);
  await d.close();
  t.notOk(bodyFinished, 'shutdown did not wait for the dribbling body');
  t.match(logs.join('\n'), /"status":200.*webhook delivered/, 'the 200 counts as delivered');
});

