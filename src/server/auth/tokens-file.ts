import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../config/options.js';
import { SCOPES, type Scope } from '../principal.js';

/** One bearer token and what it may do. `name` is who it is in logs and job ownership; the token never is. */
export interface TokenEntry {
  readonly token: string;
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
}

/** Shorter tokens can be guessed; longer ones are not tokens a person should type. */
export const MIN_TOKEN_LENGTH = 16;
export const MAX_TOKEN_LENGTH = 512;
/** RFC 6750's b64token: what may follow `Bearer ` in a header. */
export const TOKEN_PATTERN = /^[A-Za-z0-9\-._~+/]+=*$/;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const SCOPE_SET: ReadonlySet<string> = new Set(SCOPES);

interface RawEntry {
  /** where the entry is, for messages: "line 3" or "entry 2" */
  where: string;
  token: unknown;
  scopes: unknown;
  name: unknown;
  defaultName: string;
}

const bad = (where: string, why: string): never => {
  throw new ConfigError(`--tokens-file: ${where}: ${why}`);
};

/**
 * Parses a tokens file: JSON (`[{"token","scopes","name"}]` or `{"tokens": [...]}`) when it starts with
 * `[` or `{`, else lines of `<token> <scope>[,<scope>...] [name]` with blank lines and `#` comments.
 * Throws ConfigError naming the line (or JSON entry) at fault; messages never quote a token.
 */
export function parseTokensFile(text: string): TokenEntry[] {
  const body = text.replace(/^\uFEFF/, '');
  const raw = /^\s*[[{]/.test(body) ? jsonEntries(body) : lineEntries(body);
  if (raw.length === 0) bad('file', 'holds no tokens; an empty tokens file would leave the node open');
  const entries = raw.map(validate);
  rejectDuplicates(entries, raw);
  return entries;
}

export async function loadTokensFile(path: string): Promise<TokenEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return bad(path, `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseTokensFile(text);
}

function lineEntries(text: string): RawEntry[] {
  const entries: RawEntry[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const where = `line ${i + 1}`;
    const fields = trimmed.split(/[ \t]+/);
    if (fields.length < 2) bad(where, 'expected "<token> <scope>[,<scope>...] [name]"; the scopes are missing');
    if (fields.length > 3) bad(where, 'expected "<token> <scope>[,<scope>...] [name]"; there are more than three fields');
    entries.push({ where, token: fields[0], scopes: fields[1]!.split(','), name: fields[2], defaultName: `line-${i + 1}` });
  });
  return entries;
}

function jsonEntries(text: string): RawEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // V8's message quotes the text around the fault, which may be a token: give the line only.
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    const where = position === undefined ? 'JSON' : `line ${text.slice(0, Number(position)).split('\n').length}`;
    return bad(where, 'not valid JSON');
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(list)) return bad('JSON', 'expected an array of {"token","scopes","name"} or {"tokens": [...]}');
  return list.map((item: unknown, i): RawEntry => {
    const where = `JSON entry ${i + 1}`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return bad(where, 'expected an object {"token","scopes","name"}');
    const { token, scopes, name } = item as Record<string, unknown>;
    return { where, token, scopes, name, defaultName: `entry-${i + 1}` };
  });
}

function validate({ where, token, scopes, name, defaultName }: RawEntry): TokenEntry {
  if (typeof token !== 'string') return bad(where, 'the token must be a string');
  if (token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH)
    bad(where, `the token must be ${MIN_TOKEN_LENGTH} to ${MAX_TOKEN_LENGTH} characters long (e.g. openssl rand -hex 32)`);
  if (!TOKEN_PATTERN.test(token)) bad(where, 'the token may hold only letters, digits and - . _ ~ + / (then = padding)');
  if (!Array.isArray(scopes) || scopes.length === 0) return bad(where, 'a token needs at least one scope');
  // An unknown scope is not quoted: a line with its fields swapped would otherwise print the token.
  if (!scopes.every((s): s is Scope => typeof s === 'string' && SCOPE_SET.has(s)))
    bad(where, `unknown scope; scopes are ${SCOPES.join(', ')}`);
  if (name !== undefined && (typeof name !== 'string' || !NAME_PATTERN.test(name)))
    bad(where, 'the name must be 1 to 64 letters, digits or . _ @ - (starting with a letter or digit)');
  return Object.freeze({ token, name: (name as string | undefined) ?? defaultName, scopes: new Set(scopes as Scope[]) });
}

/** Names own jobs, so two tokens with one name would share them; the same token twice is a paste error. */
function rejectDuplicates(entries: TokenEntry[], raw: RawEntry[]): void {
  const byToken = new Map<string, string>();
  const byName = new Map<string, string>();
  entries.forEach((entry, i) => {
    const where = raw[i]!.where;
    const sameToken = byToken.get(entry.token);
    if (sameToken) bad(where, `the same token as ${sameToken}`);
    const sameName = byName.get(entry.name);
    if (sameName) bad(where, `the name "${entry.name}" is already used by ${sameName}; names own jobs and must be unique`);
    byToken.set(entry.token, where);
    byName.set(entry.name, where);
  });
}
