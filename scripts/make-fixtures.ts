// Writes the fixture models into a models directory. Each module in ./fixtures/models/ exports
// `fixtures: FixtureModel[]`; they are discovered here so that adding a model touches one file.
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FixtureModel } from './fixtures/fixture.js';

const MODULES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'models');

export async function listFixtures(): Promise<FixtureModel[]> {
  const files = (await readdir(MODULES_DIR)).filter((f) => f.endsWith('.js')).sort();
  const all: FixtureModel[] = [];
  for (const file of files) {
    const mod = (await import(path.join(MODULES_DIR, file))) as { fixtures?: FixtureModel[] };
    all.push(...(mod.fixtures ?? []));
  }
  return all;
}

/** Writes the chosen fixtures (default: the bundled ones) into `modelsDir`, replacing older copies. */
export async function makeFixtures(modelsDir: string, select: (f: FixtureModel) => boolean = (f) => f.bundled): Promise<string[]> {
  const written: string[] = [];
  for (const fixture of (await listFixtures()).filter(select)) {
    const dir = path.join(modelsDir, fixture.name);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await fixture.write(dir);
    written.push(fixture.name);
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const [out = 'models', ...args] = process.argv.slice(2);
  const withVariants = args.includes('--variants');
  const names = args.filter((a) => !a.startsWith('--'));
  const select = (f: FixtureModel): boolean => (names.length ? names.includes(f.name) : f.bundled || withVariants);
  const written = await makeFixtures(out, select);
  console.log(`fixture models written to ${out}: ${written.join(', ') || '(none)'}`);
}
