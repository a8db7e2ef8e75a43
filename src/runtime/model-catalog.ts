import type { Dirent } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { JOB_TYPES } from '../jobs/types.js';
import type { ModelManifest, ModelSpec, ModelType } from './model-types.js';

/** Model names become URL segments and directory names: keep them to a safe alphabet. */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class ModelLayoutError extends Error {
  override name = 'ModelLayoutError';
}

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

async function readJson(file: string): Promise<Record<string, unknown> | null> {
  if (!(await exists(file))) return null;
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch {
    throw new ModelLayoutError(`${path.basename(file)} is not valid JSON`);
  }
}

/** Chat exports put the decoder under onnx/ (transformers.js) or at the top (Optimum). */
export const CHAT_GRAPH_CANDIDATES = ['onnx/model.onnx', 'onnx/decoder_model_merged.onnx', 'model.onnx', 'decoder_model_merged.onnx'];

async function detectType(dir: string, manifest: ModelManifest): Promise<ModelType> {
  if (manifest.type !== undefined) {
    if (!JOB_TYPES.includes(manifest.type)) throw new ModelLayoutError(`infernode.json type must be one of ${JOB_TYPES.join(', ')}`);
    return manifest.type;
  }
  const index = await readJson(path.join(dir, 'model_index.json'));
  if (index) {
    const className = String(index['_class_name'] ?? '');
    const unet = await readJson(path.join(dir, 'unet', 'config.json'));
    const unetClass = String(unet?.['_class_name'] ?? '');
    return /video/i.test(className) || /3D/.test(unetClass) ? 'video' : 'image';
  }
  const chatFiles = await Promise.all([exists(path.join(dir, 'config.json')), exists(path.join(dir, 'tokenizer.json'))]);
  if (chatFiles.every(Boolean)) {
    // infernode.json `graph` names another decoder file (e.g. onnx/model_fp16.onnx)
    const candidates = typeof manifest['graph'] === 'string' ? [manifest['graph']] : CHAT_GRAPH_CANDIDATES;
    for (const candidate of candidates) if (await exists(path.join(dir, candidate))) return 'chat';
    throw new ModelLayoutError('chat layout without a decoder graph (expected onnx/model.onnx or onnx/decoder_model_merged.onnx)');
  }
  if (await exists(path.join(dir, 'model.onnx'))) {
    throw new ModelLayoutError('a bare model.onnx needs infernode.json {"type": "tensor"}');
  }
  throw new ModelLayoutError('no known layout (model_index.json, config.json + tokenizer.json, or model.onnx + infernode.json)');
}

/** Reads a model directory's layout and optional infernode.json. */
export async function detectModel(dir: string): Promise<ModelSpec> {
  const name = path.basename(path.resolve(dir));
  if (!MODEL_NAME.test(name)) throw new ModelLayoutError('directory name is not a valid model name (letters, digits, . _ -)');
  const manifest = ((await readJson(path.join(dir, 'infernode.json'))) ?? {}) as ModelManifest;
  return { name, type: await detectType(dir, manifest), dir: path.resolve(dir), manifest };
}

export interface CatalogEntry {
  name: string;
  spec: ModelSpec | null;
  /** why the directory is not a usable model */
  problem: string | null;
}

/**
 * Whether an entry of the models dir is a model directory. A symbolic link counts by its target, as `models check`
 * sees it; a link that leads nowhere (broken, a loop) is a model that cannot be used, not one that is not there.
 */
async function isModelDir(modelsDir: string, entry: Dirent): Promise<boolean> {
  if (entry.name.startsWith('.')) return false;
  if (!entry.isSymbolicLink()) return entry.isDirectory();
  try {
    return (await stat(path.join(modelsDir, entry.name))).isDirectory();
  } catch (err) {
    throw new ModelLayoutError(`symbolic link that leads to no directory (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

async function catalogEntry(modelsDir: string, entry: Dirent): Promise<CatalogEntry | null> {
  try {
    if (!(await isModelDir(modelsDir, entry))) return null;
    return { name: entry.name, spec: await detectModel(path.join(modelsDir, entry.name)), problem: null };
  } catch (err) {
    return { name: entry.name, spec: null, problem: err instanceof Error ? err.message : String(err) };
  }
}

/** Lists every model directory of `modelsDir` with its spec or the reason it cannot be used. */
export async function scanModels(modelsDir: string): Promise<CatalogEntry[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(modelsDir, { withFileTypes: true });
  } catch {
    return [];
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const found = await Promise.all(entries.map((entry) => catalogEntry(modelsDir, entry)));
  return found.filter((e): e is CatalogEntry => e !== null);
}
