import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import t, { type Test } from 'tap';
import { Authenticator } from '../../src/server/auth/authenticator.js';
import { authPlugin } from '../../src/server/auth/plugin.js';
import { buildHttpsOptions } from '../../src/server/auth/tls-options.js';
import { parseTokensFile } from '../../src/server/auth/tokens-file.js';

const hasOpenssl = ((): boolean => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

interface Pki {
  dir: string;
  file: (name: string) => string;
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA, made by openssl. */
async function makePki(): Promise<Pki> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'infernode-tls-'));
  const file = (name: string): string => path.join(dir, name);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=infernode test CA', '-days', '1');
  await writeFile(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await writeFile(file('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client', 'other']) {
    openssl('req', ...ec, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who}`);
    const ext = who === 'server' ? ['-extfile', 'server.ext'] : ['-extfile', 'client.ext'];
    openssl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.crt`, '-days', '1', ...ext);
  }
  return { dir, file };
}

const pki = hasOpenssl ? await makePki() : null;
if (pki) t.teardown(() => rm(pki.dir, { recursive: true, force: true }));
const skip = hasOpenssl ? false : 'openssl is not on PATH, so no test certificates can be made';

t.test('without --tls-cert the node serves plain HTTP', async (t) => {
  t.equal(await buildHttpsOptions({ tlsCert: null, tlsKey: null, tlsClientCa: null }), null);
});

t.test('a certificate without its key is refused', async (t) => {
  await t.rejects(buildHttpsOptions({ tlsCert: '/x.crt', tlsKey: null, tlsClientCa: null }), /--tls-cert: needs --tls-key/);
  await t.rejects(buildHttpsOptions({ tlsCert: null, tlsKey: '/x.key', tlsClientCa: null }), /--tls-key: needs --tls-cert/);
});

t.test('a client CA without a server certificate is refused', async (t) => {
  await t.rejects(buildHttpsOptions({ tlsCert: null, tlsKey: null, tlsClientCa: '/ca.crt' }), /--tls-client-ca: needs --tls-cert/);
});

t.test('a missing file is refused naming the flag and the path', async (t) => {
  await t.rejects(buildHttpsOptions({ tlsCert: '/nonexistent/server.crt', tlsKey: '/nonexistent/server.key', tlsClientCa: null }), /--tls-cert: cannot read \/nonexistent\/server\.crt \(ENOENT\)/);
});

t.test('a key that does not belong to the certificate is refused at start', { skip }, async (t) => {
  await t.rejects(buildHttpsOptions({ tlsCert: pki!.file('server.crt'), tlsKey: pki!.file('client.key'), tlsClientCa: null }), /rejected by OpenSSL/);
});

t.test('a client CA turns on mandatory client certificates', { skip }, async (t) => {
  const options = await buildHttpsOptions({ tlsCert: pki!.file('server.crt'), tlsKey: pki!.file('server.key'), tlsClientCa: pki!.file('ca.crt') });
  t.equal(options?.requestCert, true);
  t.equal(options?.rejectUnauthorized, true);
});

/** GET over HTTPS trusting the test CA, with an optional client certificate; rejects when TLS refuses. */
function get(port: number, ca: Buffer, client: { cert?: Buffer; key?: Buffer; token?: string }): Promise<{ status: number; body: string }> {
  const { token, ...tls } = client;
  return new Promise((resolve, reject) => {
    const headers = token ? { authorization: `Bearer ${token}` } : {};
    const req = https.request({ host: '127.0.0.1', port, path: '/v1/jobs', ca, ...tls, agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject).end();
  });
}

async function mtlsApp(t: Test, token: string): Promise<number> {
  const { file } = pki!;
  const httpsOptions = await buildHttpsOptions({ tlsCert: file('server.crt'), tlsKey: file('server.key'), tlsClientCa: file('ca.crt') });
  const app = Fastify({ logger: false, https: httpsOptions! });
  await app.register(authPlugin, { authenticator: Authenticator.fromTokens(parseTokensFile(`${token} jobs:read tls-client\n`)) });
  app.get('/v1/jobs', { config: { scope: 'jobs:read' } }, async (request) => ({ who: request.principal.name }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  return (app.server.address() as AddressInfo).port;
}

const TOKEN = 'tls-client-token-0123456789';

t.test('over mTLS a client with a certificate from the CA is served', { skip }, async (t) => {
  const { file } = pki!;
  const port = await mtlsApp(t, TOKEN);
  const res = await get(port, await readFile(file('ca.crt')), { cert: await readFile(file('client.crt')), key: await readFile(file('client.key')), token: TOKEN });
  t.equal(res.status, 200);
  t.same(JSON.parse(res.body), { who: 'tls-client' });
});

t.test('over mTLS a client without a certificate is refused', { skip }, async (t) => {
  const port = await mtlsApp(t, TOKEN);
  await t.rejects(get(port, await readFile(pki!.file('ca.crt')), { token: TOKEN }), { code: /CERTIFICATE_REQUIRED|ECONNRESET/ });
});

t.test('over mTLS a client certificate from another CA is refused', { skip }, async (t) => {
  const other = await makePki();
  t.teardown(() => rm(other.dir, { recursive: true, force: true }));
  const port = await mtlsApp(t, TOKEN);
  const client = { cert: await readFile(other.file('client.crt')), key: await readFile(other.file('client.key')), token: TOKEN };
  await t.rejects(get(port, await readFile(pki!.file('ca.crt')), client), { code: /UNKNOWN_CA|ECONNRESET/ });
});
