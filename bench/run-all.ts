// Runs every benchmark of bench/ one after another, each in its own process (so none shares a heap or an
// event loop with another), and prints their reports. `npm run build && npm run bench`.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine } from './lib/measure.js';

const BENCHES = ['foundation', 'native-kernels', 'chat-stream', 'image-latency', 'media-encode', 'video-pipeline', 'loadgen-overhead'];
const only = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));

console.log(`# infernode benchmarks — ${machine()}`);
let failed = 0;
for (const name of BENCHES.filter((b) => only.length === 0 || only.includes(b))) {
  console.log(`\n## ${name}\n`);
  const run = spawnSync(process.execPath, [path.join(here, `${name}.js`)], { stdio: 'inherit' });
  if (run.status !== 0) {
    failed++;
    console.log(`(${name} exited with ${run.status ?? run.signal})`);
  }
}
process.exitCode = failed ? 1 : 0;
