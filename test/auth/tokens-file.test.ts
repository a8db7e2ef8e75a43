import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadTokensFile, parseTokensFile } from '../../src/server/auth/tokens-file.js';

const TOKEN_A = 'a'.repeat(8) + 'Secret-Token_A1';
const TOKEN_B = 'b'.repeat(8) + 'Secret-Token_B2';

const failure = (text: string): string => {
  try {
    parseTokensFile(text);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the tokens file to be refused');
};

t.test('a lines file gives each token its scopes and name, skipping comments and blank lines', async (t) => {
  const tokens = parseTokensFile(`# orchestrators\n\n${TOKEN_A} jobs:write,jobs:read orchestrator\n  ${TOKEN_B}\tmetrics  \n`);
  t.equal(tokens.length, 2);
  t.same([...tokens[0]!.scopes], ['jobs:write', 'jobs:read']);
  t.equal(tokens[0]!.name, 'orchestrator');
  t.equal(tokens[0]!.token, TOKEN_A);
  t.same([...tokens[1]!.scopes], ['metrics']);
});

t.test('a token without a name is named after its line, never after the token', async (t) => {
  const [entry] = parseTokensFile(`\n# x\n${TOKEN_A} metrics\n`);
  t.equal(entry!.name, 'line-3');
});

t.test('CRLF line ends and a byte-order mark are accepted', async (t) => {
  const tokens = parseTokensFile(`\uFEFF${TOKEN_A} jobs:read a\r\n${TOKEN_B} metrics b\r\n`);
  t.same(tokens.map((e) => e.name), ['a', 'b']);
});

t.test('a JSON array of entries is read', async (t) => {
  const tokens = parseTokensFile(JSON.stringify([{ token: TOKEN_A, scopes: ['models:admin'], name: 'admin' }, { token: TOKEN_B, scopes: ['jobs:read'] }]));
  t.equal(tokens[0]!.name, 'admin');
  t.ok(tokens[0]!.scopes.has('models:admin'));
  t.equal(tokens[1]!.name, 'entry-2');
});

t.test('a JSON object with a tokens array is read', async (t) => {
  const tokens = parseTokensFile(JSON.stringify({ tokens: [{ token: TOKEN_A, scopes: ['metrics'], name: 'prom' }] }));
  t.equal(tokens[0]!.name, 'prom');
});

t.test('a short token is refused naming its line and not quoting it', async (t) => {
  const message = failure(`${TOKEN_A} metrics a\nshort-token metrics b\n`);
  t.match(message, /line 2/);
  t.match(message, /16/);
  t.notMatch(message, /short-token/);
});

t.test('an unknown scope is refused naming the line and the known scopes', async (t) => {
  const message = failure(`${TOKEN_A} jobs:wrtie\n`);
  t.match(message, /line 1: unknown scope/);
  t.match(message, /jobs:write, jobs:read, models:admin, metrics/);
});

t.test('a line with its fields swapped does not print the token', async (t) => {
  const message = failure(`metrics ${TOKEN_A}\n`);
  t.match(message, /line 1/);
  t.notMatch(message, TOKEN_A);
});

t.test('a token without scopes is refused', async (t) => {
  t.match(failure(`${TOKEN_A}\n`), /line 1: .*scopes are missing/);
});

t.test('a line of more than three fields is refused', async (t) => {
  t.match(failure(`${TOKEN_A} metrics name extra\n`), /line 1: .*more than three fields/);
});

t.test('a token with characters that cannot follow "Bearer " is refused', async (t) => {
  t.match(failure(JSON.stringify([{ token: 'tök' + TOKEN_A, scopes: ['metrics'] }])), /JSON entry 1: the token may hold only/);
});

t.test('invalid JSON names the line at fault, never the text around it', async (t) => {
  const message = failure(`[\n  {"token": "${TOKEN_A}", "scopes": ["metrics"],}\n]`);
  t.match(message, /line 2: not valid JSON/);
  t.notMatch(message, TOKEN_A);
});

t.test('an unquoted token in JSON is not echoed', async (t) => {
  const message = failure(`[{"token": ${TOKEN_A}}]`);
  t.match(message, /not valid JSON/);
  t.notMatch(message, TOKEN_A);
});

t.test('a JSON entry without scopes is refused naming the entry', async (t) => {
  t.match(failure(JSON.stringify({ tokens: [{ token: TOKEN_A, scopes: [] }] })), /JSON entry 1: a token needs at least one scope/);
});

t.test('JSON that is not a list of entries is refused', async (t) => {
  t.match(failure('{"token": "x"}'), /expected an array/);
});

t.test('two tokens with one name are refused, since names own jobs', async (t) => {
  t.match(failure(`${TOKEN_A} metrics ops\n${TOKEN_B} jobs:read ops\n`), /line 2: the name "ops" is already used by line 1/);
});

t.test('the same token twice is refused naming both lines', async (t) => {
  const message = failure(`${TOKEN_A} metrics a\n${TOKEN_A} jobs:read b\n`);
  t.match(message, /line 2: the same token as line 1/);
  t.notMatch(message, TOKEN_A);
});

t.test('a file with no tokens is refused rather than leaving the node open', async (t) => {
  t.match(failure('# nothing yet\n\n'), /holds no tokens/);
});

t.test('a name with spaces or control characters is refused', async (t) => {
  t.match(failure(JSON.stringify([{ token: TOKEN_A, scopes: ['metrics'], name: 'a\nb' }])), /JSON entry 1: the name must be/);
});

t.test('loading a file reads it from disk', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tokens-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'tokens');
  await writeFile(file, `${TOKEN_A} jobs:write ci\n`);
  const [entry] = await loadTokensFile(file);
  t.equal(entry!.name, 'ci');
});

t.test('a missing file is a readable error naming the path', async (t) => {
  await t.rejects(loadTokensFile('/nonexistent/tokens'), /--tokens-file: \/nonexistent\/tokens: cannot be read \(ENOENT\)/);
});
