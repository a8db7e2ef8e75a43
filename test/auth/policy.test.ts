import t from 'tap';
import { checkAuthPolicy, isLoopbackHost } from '../../src/server/auth/policy.js';

t.test('loopback addresses and localhost are recognised', async (t) => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST', 'localhost.'])
    t.ok(isLoopbackHost(host), host);
});

t.test('every other address or name counts as reachable from a network', async (t) => {
  for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::2', 'example.com', 'localhost.example.com', 'my-host'])
    t.notOk(isLoopbackHost(host), host);
});

t.test('loopback without tokens runs with auth off', async (t) => {
  t.same(checkAuthPolicy({ host: '127.0.0.1', tokensConfigured: false, insecureNoAuth: false }), { authEnabled: false });
});

t.test('a non-loopback address without tokens is refused with a message naming the way out', async (t) => {
  const policy = checkAuthPolicy({ host: '0.0.0.0', tokensConfigured: false, insecureNoAuth: false });
  t.ok('error' in policy);
  t.match((policy as { error: string }).error, /0\.0\.0\.0.*--tokens-file.*--insecure-no-auth/);
});

t.test('--insecure-no-auth lets a non-loopback address run without auth', async (t) => {
  t.same(checkAuthPolicy({ host: '0.0.0.0', tokensConfigured: false, insecureNoAuth: true }), { authEnabled: false });
});

t.test('tokens turn auth on, on loopback too', async (t) => {
  t.same(checkAuthPolicy({ host: '127.0.0.1', tokensConfigured: true, insecureNoAuth: false }), { authEnabled: true });
  t.same(checkAuthPolicy({ host: '0.0.0.0', tokensConfigured: true, insecureNoAuth: false }), { authEnabled: true });
});

t.test('tokens together with --insecure-no-auth are refused as contradictory', async (t) => {
  t.match(checkAuthPolicy({ host: '0.0.0.0', tokensConfigured: true, insecureNoAuth: true }), { error: /contradict/ });
});

t.test('the node refuses to build an open authenticator for a non-loopback address', async (t) => {
  const { authenticatorFromConfig } = await import('../../src/server/auth/from-config.js');
  const { ConfigError } = await import('../../src/config/options.js');
  await t.rejects(authenticatorFromConfig({ host: '0.0.0.0', tokensFile: null, insecureNoAuth: false }), ConfigError);
  t.equal((await authenticatorFromConfig({ host: '127.0.0.1', tokensFile: null, insecureNoAuth: false })).enabled, false);
});
