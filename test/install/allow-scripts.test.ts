// npm 11 skips the install script of any dependency that package.json's `allowScripts` does not name, and says
// so only in a warning. onnxruntime-node's script is what fetches the CUDA provider on GPU hosts
// (`ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci`), so a dependency added with a script nobody reviewed would
// silently break that install; this keeps every script in the lockfile decided one way or the other.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface LockPackage {
  hasInstallScript?: boolean;
}

async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(path.join(ROOT, file), 'utf8')) as T;
}

t.test('allowScripts decides every dependency install script in the lockfile', async (t) => {
  const lock = await readJson<{ packages: Record<string, LockPackage> }>('package-lock.json');
  const manifest = await readJson<{ allowScripts?: Record<string, boolean> }>('package.json');
  const withScripts = Object.entries(lock.packages)
    .filter(([, entry]) => entry.hasInstallScript)
    .map(([location]) => location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length));
  t.ok(withScripts.includes('onnxruntime-node'), 'the lockfile lists onnxruntime-node as having an install script');
  const undecided = withScripts.filter((name) => typeof manifest.allowScripts?.[name] !== 'boolean');
  t.same(undecided, [], 'each one is approved or denied in package.json');
  t.equal(manifest.allowScripts?.['onnxruntime-node'], true, "onnxruntime-node's script runs (it installs the CUDA provider)");
  t.equal(manifest.allowScripts?.sharp, true, "sharp's check runs");
});
