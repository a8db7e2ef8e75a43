// Writes docs/openapi.json from the route schemas of a node built as the daemon builds it (no model loaded).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG } from '../src/config/options.js';
import { buildNode } from '../src/server/app.js';
import { nodeOptionsFromConfig } from '../src/server/node-options.js';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/openapi.json');
const scratchDir = await mkdtemp(path.join(os.tmpdir(), 'infernode-openapi-'));
const node = await buildNode(await nodeOptionsFromConfig({ ...DEFAULT_CONFIG, device: 'cpu', logLevel: 'warn', modelsDir: scratchDir, scratchDir }));
await node.app.ready();
await writeFile(out, `${JSON.stringify(node.app.swagger(), null, 2)}\n`);
await node.shutdown();
await rm(scratchDir, { recursive: true, force: true });
console.log(`wrote ${out}`);
