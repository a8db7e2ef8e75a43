import t from 'tap';
import { Authenticator, requireScope } from '../../src/server/auth/authenticator.js';
import { parseTokensFile } from '../../src/server/auth/tokens-file.js';
import { ApiError } from '../../src/server/errors.js';
import { SCOPES, type Principal } from '../../src/server/principal.js';

const WRITER = 'writer-0123456789abcdef';
const READER = 'reader-0123456789abcdef';
const auth = Authenticator.fromTokens(parseTokensFile(`${WRITER} jobs:write,jobs:read writer\n${READER} jobs:read reader\n`));

const asError = (result: Principal | ApiError): ApiError => {
  if (!(result instanceof ApiError)) throw new Error('expected a 401');
  return result;
};

t.test('a known token gives its name and scopes', async (t) => {
  const who = auth.authenticate(`Bearer ${READER}`);
  t.notOk(who instanceof ApiError);
  t.equal((who as Principal).name, 'reader');
  t.same([...(who as Principal).scopes], ['jobs:read']);
});

t.test('the Bearer scheme is matched without regard to case', async (t) => {
  t.equal((auth.authenticate(`bearer ${WRITER}`) as Principal).name, 'writer');
});

t.test('a wrong token of the same length is a 401', async (t) => {
  const wrong = WRITER.slice(0, -1) + (WRITER.endsWith('f') ? 'e' : 'f');
  const err = asError(auth.authenticate(`Bearer ${wrong}`));
  t.equal(err.statusCode, 401);
  t.equal(err.code, 'unauthorized');
});

t.test('a wrong token of another length, or a prefix of a real one, is a 401', async (t) => {
  t.equal(asError(auth.authenticate(`Bearer ${WRITER}0`)).statusCode, 401);
  t.equal(asError(auth.authenticate(`Bearer ${WRITER.slice(0, 10)}`)).statusCode, 401);
});

t.test('no header is a 401 that says how to send a token', async (t) => {
  t.match(asError(auth.authenticate(undefined)).message, /Authorization: Bearer/);
  t.equal(asError(auth.authenticate('')).statusCode, 401);
});

t.test('malformed headers are 401s and never throw', async (t) => {
  const headers = [
    `Basic ${Buffer.from('user:pass').toString('base64')}`,
    'Bearer',
    'Bearer ',
    `Bearer  ${WRITER}`,
    `Bearer ${WRITER} extra`,
    `${WRITER}`,
    `Bearer tök${WRITER}`,
    `Bearer ${WRITER}\u0000`,
    `Bearer ${'x'.repeat(100_000)}`,
    `Bearer\t${WRITER}`,
  ];
  for (const header of headers) t.equal(asError(auth.authenticate(header)).statusCode, 401, JSON.stringify(header.slice(0, 30)));
});

t.test('the 401 message never quotes what was sent', async (t) => {
  t.notMatch(asError(auth.authenticate('Bearer not-a-real-token-at-all')).message, /not-a-real/);
});

t.test('with auth off every caller is anonymous with every scope', async (t) => {
  const who = Authenticator.disabled().authenticate(undefined) as Principal;
  t.equal(who.name, 'anonymous');
  t.same([...who.scopes].sort(), [...SCOPES].sort());
  t.equal(Authenticator.disabled().enabled, false);
});

t.test('an authenticator cannot be built from no tokens', async (t) => {
  t.throws(() => Authenticator.fromTokens([]), /disabled/);
});

t.test('a principal without the scope gets a 403 naming the scope', async (t) => {
  const err = requireScope(auth.authenticate(`Bearer ${READER}`) as Principal, 'jobs:write');
  t.equal(err?.statusCode, 403);
  t.equal(err?.code, 'forbidden');
  t.match(err?.message, /jobs:write/);
});

t.test('a principal with the scope passes', async (t) => {
  t.equal(requireScope(auth.authenticate(`Bearer ${WRITER}`) as Principal, 'jobs:write'), null);
});

t.test("models:admin includes jobs:read (an admin reads every token's jobs), and nothing else", async (t) => {
  const ADMIN = 'admin-0123456789abcdef';
  const admin = Authenticator.fromTokens(parseTokensFile(`${ADMIN} models:admin ops\n`)).authenticate(`Bearer ${ADMIN}`) as Principal;
  t.equal(requireScope(admin, 'jobs:read'), null);
  t.equal(requireScope(admin, 'jobs:write')?.code, 'forbidden');
  t.equal(requireScope(admin, 'metrics')?.code, 'forbidden');
});
