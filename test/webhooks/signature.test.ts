import t from 'tap';
import { signatureHeader, verifySignature } from '../../src/jobs/webhooks/signature.js';

const SECRET = 'whsec-0123456789abcdef';
const BODY = JSON.stringify({ id: 'job_1', status: 'succeeded' });
const NOW = 1_800_000_000;

t.test('a header made by the node verifies against the same body and secret', async (t) => {
  t.ok(verifySignature(SECRET, signatureHeader(SECRET, BODY, NOW), BODY, 300, NOW));
});

t.test('the header has the documented form', async (t) => {
  t.match(signatureHeader(SECRET, BODY, NOW), /^t=1800000000,v1=[0-9a-f]{64}$/);
});

t.test('the raw bytes verify as well as the string', async (t) => {
  t.ok(verifySignature(SECRET, signatureHeader(SECRET, BODY, NOW), Buffer.from(BODY), 300, NOW));
});

t.test('a changed body fails', async (t) => {
  t.notOk(verifySignature(SECRET, signatureHeader(SECRET, BODY, NOW), BODY.replace('succeeded', 'failed'), 300, NOW));
});

t.test('another secret fails', async (t) => {
  t.notOk(verifySignature('another-secret-0123456789', signatureHeader(SECRET, BODY, NOW), BODY, 300, NOW));
});

t.test('a timestamp outside the tolerance fails, so an old delivery cannot be replayed', async (t) => {
  t.notOk(verifySignature(SECRET, signatureHeader(SECRET, BODY, NOW - 301), BODY, 300, NOW));
  t.ok(verifySignature(SECRET, signatureHeader(SECRET, BODY, NOW - 299), BODY, 300, NOW));
});

t.test('a changed timestamp fails, since the timestamp is signed too', async (t) => {
  const header = signatureHeader(SECRET, BODY, NOW).replace(`t=${NOW}`, `t=${NOW + 1}`);
  t.notOk(verifySignature(SECRET, header, BODY, 300, NOW));
});

t.test('one matching v1 among several verifies (a rotating secret)', async (t) => {
  const good = signatureHeader(SECRET, BODY, NOW).split(',v1=')[1];
  t.ok(verifySignature(SECRET, `t=${NOW},v1=${'0'.repeat(64)},v1=${good}`, BODY, 300, NOW));
});

t.test('malformed headers fail without throwing', async (t) => {
  for (const header of [undefined, '', 't=', 'v1=abc', `t=${NOW}`, `t=${NOW},v1=zz`, `t=abc,v1=${'0'.repeat(64)}`, 'x'.repeat(5000)])
    t.notOk(verifySignature(SECRET, header, BODY, 300, NOW), String(header).slice(0, 20));
});
