import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { DEFAULT_CONFIG, type Config } from '../../src/config/options.js';
import { isClaimFile } from '../../src/scratch/scratch-claim.js';
import { buildNode, type InfernodeNode } from '../../src/server/app.js';
import { nodeOptionsFromConfig } from '../../src/server/node-options.js';
import { fixtureModelsDir } from './fixtures.js';

export interface TestNode {
  node: InfernodeNode;
  /** base URL when listening */
  url: string;
  /** every log line the node wrote, as text */
  logs: string[];
  scratchDir: string;
  /** what jobs left in scratch: the root's entries but the node's claim on it */
  jobScratch(): Promise<string[]>;
  close(): Promise<void>;
}

export interface TestNodeOptions {
  config?: Partial<Config>;
  /** tokens file content ("<token> <scopes> <name>" lines) */
  tokens?: string;
  /** fixture models to serve (made once per process); ignored when config.modelsDir is set */
  models?: string[];
  listen?: boolean;
}

/** A node built exactly as `infernode serve` builds it, on port 0, with its own scratch dir and captured logs. */
export async function startNode(options: TestNodeOptions = {}): Promise<TestNode> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'infernode-test-'));
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  let tokensFile: string | null = null;
  if (options.tokens !== undefined) {
    tokensFile = path.join(tmp, 'tokens');
    await writeFile(tokensFile, options.tokens, { mode: 0o600 });
  }
  const config: Config = {
    ...structuredClone(DEFAULT_CONFIG),
    port: 0,
    device: 'cpu',
    logLevel: 'info',
    scratchDir: path.join(tmp, 'scratch'),
    modelsDir: options.config?.modelsDir ?? (await fixtureModelsDir(options.models ?? ['tiny-tensor'])),
    tokensFile,
    ...options.config,
  };
  const node = await buildNode(await nodeOptionsFromConfig(config, { logStream }));
  await node.start({ listen: options.listen ?? true });
  const address = node.app.server.address();
  const url = typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : '';
  return {
    node,
    url,
    logs,
    scratchDir: node.scratch.root,
    jobScratch: async () => (await readdir(node.scratch.root)).filter((name) => !isClaimFile(name)),
    async close() {
      await node.shutdown();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
