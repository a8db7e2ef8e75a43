import t from 'tap';
import { ConfigError } from '../../src/config/options.js';
import { checkWebhookUrl, parseWebhookAllow } from '../../src/jobs/webhooks/allowlist.js';

const allowed = (entries: string[], url: string): boolean => checkWebhookUrl(url, parseWebhookAllow(entries)) === null;

t.test('with no --webhook-allow no webhook is accepted', async (t) => {
  t.match(checkWebhookUrl('https://orchestrator.internal/hooks', parseWebhookAllow([])), /webhooks are off/);
});

t.test('a listed host is allowed on any port and path', async (t) => {
  t.ok(allowed(['orchestrator.internal'], 'https://orchestrator.internal/hooks/jobs'));
  t.ok(allowed(['orchestrator.internal'], 'http://orchestrator.internal:9000/x?y=1'));
});

t.test('a host that is not listed is refused with a message naming the field but not the URL', async (t) => {
  const message = checkWebhookUrl('https://attacker.example/steal?token=abc', parseWebhookAllow(['orchestrator.internal']));
  t.match(message, /^webhook host is not allowed/);
  t.notMatch(message, /attacker|steal|abc/);
});

t.test('a wildcard allows subdomains at any depth but not the domain itself or look-alikes', async (t) => {
  const entries = ['*.example.com'];
  t.ok(allowed(entries, 'https://hooks.example.com/'));
  t.ok(allowed(entries, 'https://a.b.example.com/'));
  t.notOk(allowed(entries, 'https://example.com/'));
  t.notOk(allowed(entries, 'https://evilexample.com/'));
  t.notOk(allowed(entries, 'https://example.com.evil.net/'));
});

t.test('a port in an entry allows that port only, counting the scheme default', async (t) => {
  t.ok(allowed(['hooks.internal:8443'], 'https://hooks.internal:8443/'));
  t.notOk(allowed(['hooks.internal:8443'], 'https://hooks.internal/'));
  t.ok(allowed(['hooks.internal:443'], 'https://hooks.internal/'));
  t.ok(allowed(['hooks.internal:80'], 'http://hooks.internal/'));
  t.ok(allowed(['*.internal:8443'], 'https://a.internal:8443/'));
  t.notOk(allowed(['*.internal:8443'], 'https://a.internal:8444/'));
});

t.test('hosts match without regard to case or a trailing dot', async (t) => {
  t.ok(allowed(['Hooks.Example.COM'], 'https://hooks.example.com./x'));
});

t.test('IP addresses, IPv6 in brackets, can be listed', async (t) => {
  t.ok(allowed(['127.0.0.1:8080'], 'http://127.0.0.1:8080/'));
  t.ok(allowed(['[::1]:8080'], 'http://[::1]:8080/'));
  t.notOk(allowed(['[::1]:8080'], 'http://[::2]:8080/'));
});

t.test('only http and https URLs are accepted', async (t) => {
  for (const url of ['ftp://hooks.internal/', 'file:///etc/passwd', 'javascript:alert(1)', 'ws://hooks.internal/', 'hooks.internal/x', ''])
    t.match(checkWebhookUrl(url, parseWebhookAllow(['hooks.internal'])), /http or https URL/, url);
});

t.test('a URL with credentials is refused', async (t) => {
  t.match(checkWebhookUrl('https://user:pw@hooks.internal/', parseWebhookAllow(['hooks.internal'])), /credentials/);
});

t.test('a URL over 2048 characters is refused', async (t) => {
  t.match(checkWebhookUrl(`https://hooks.internal/${'a'.repeat(3000)}`, parseWebhookAllow(['hooks.internal'])), /at most 2048/);
});

t.test('a bare * is refused at start', async (t) => {
  t.throws(() => parseWebhookAllow(['*']), ConfigError);
});

t.test('entries that are not hosts are refused at start naming the entry', async (t) => {
  for (const entry of ['https://hooks.internal', 'hooks.internal/path', 'user@hooks.internal', '*.127.0.0.1', 'host:99999', ''])
    t.throws(() => parseWebhookAllow([entry]), { name: 'ConfigError', message: /--webhook-allow/ }, entry);
});
