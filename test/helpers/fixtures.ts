import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeFixtures } from '../../scripts/make-fixtures.js';

const made = new Map<string, Promise<string>>();

/** A models dir holding the named fixture models (variants too), generated once per test process. */
export function fixtureModelsDir(names: string[]): Promise<string> {
  const key = [...names].sort().join(',');
  let dir = made.get(key);
  if (!dir) {
    dir = (async () => {
      const out = await mkdtemp(path.join(os.tmpdir(), 'infernode-models-'));
      process.once('exit', () => rmSync(out, { recursive: true, force: true }));
      const written = await makeFixtures(out, (f) => names.includes(f.name));
      const missing = names.filter((n) => !written.includes(n));
      if (missing.length) throw new Error(`no fixture model named ${missing.join(', ')}`);
      return out;
    })();
    made.set(key, dir);
  }
  return dir;
}
