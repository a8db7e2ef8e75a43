// The README promises that its curl examples work against `npm start`. This runs them, as written, against
// `infernode serve` on the fixture models, so that a changed route or field cannot leave them stale.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { spawnDaemon } from '../../bench/lib/daemon-process.js';
import { waitReady } from '../../bench/lib/measure.js';
import { fixtureModelsDir } from '../helpers/fixtures.js';

const README = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../README.md');
const SECTIONS = ['Try it', 'Video', 'Chat', 'Images'];

/** The ```sh blocks of each `### <section>` of the README, in order. */
function shellBlocks(markdown: string): Map<string, string[]> {
  const blocks = new Map<string, string[]>();
  let heading = '';
  let block: string[] | null = null;
  for (const line of markdown.split('\n')) {
    if (block) {
      if (line.startsWith('```')) {
        blocks.set(heading, [...(blocks.get(heading) ?? []), block.join('\n')]);
        block = null;
      } else block.push(line);
    } else if (line.startsWith('#')) heading = line.replace(/^#+\s*/, '');
    else if (line.startsWith('```sh')) block = [];
  }
  return blocks;
}

const sh = promisify(execFile);

t.test("the README's curl examples succeed against infernode serve", async (t) => {
  const blocks = shellBlocks(await readFile(README, 'utf8'));
  const work = await mkdtemp(path.join(os.tmpdir(), 'infernode-readme-'));
  // curl reads $HOME/.curlrc: with it, an answer of 400 or more fails the example instead of printing an error body
  await writeFile(path.join(work, '.curlrc'), 'fail-with-body\nshow-error\n');
  const models = await fixtureModelsDir(['tiny-chat', 'tiny-sd', 'tiny-tensor', 'tiny-video']);
  const daemon = await spawnDaemon(['--models-dir', models, '--device', 'cpu', '--scratch-dir', path.join(work, 'scratch'), '--log-level', 'warn']);
  t.teardown(async () => {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
    await rm(work, { recursive: true, force: true });
  });
  // as a user would, once the start-up log says "node ready"
  await waitReady(daemon.url);
  const port = new URL(daemon.url).port;

  for (const section of SECTIONS) {
    const scripts = blocks.get(section) ?? [];
    t.ok(scripts.length > 0, `the README has examples under "${section}"`);
    for (const script of scripts) {
      const local = script.replaceAll('localhost:8080', `localhost:${port}`).replaceAll('/tmp/', `${work}/`);
      const run = await sh('bash', ['-euo', 'pipefail', '-c', local], { cwd: work, env: { ...process.env, HOME: work } }).then(
        ({ stdout }) => ({ ok: true, output: stdout }),
        (err: { stdout?: string; stderr?: string }) => ({ ok: false, output: `${err.stdout ?? ''}\n${err.stderr ?? ''}` }),
      );
      t.ok(run.ok, `"${section}" runs without an error`, { diagnostic: !run.ok, output: run.output.slice(-2000) });
      t.notMatch(run.output, /"status":"(failed|cancelled|expired)"/, `no job of "${section}" ends badly`);
    }
  }

  // what the examples download must be what they name
  const magic = async (file: string, bytes: number) => (await readFile(path.join(work, file))).subarray(0, bytes);
  t.same([...(await magic('image-0.png', 8))], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'image-0.png is a PNG');
  t.same([...(await magic('poster.png', 4))], [0x89, 0x50, 0x4e, 0x47], 'poster.png is a PNG');
  t.equal((await magic('video.mp4', 8)).subarray(4).toString('latin1'), 'ftyp', 'video.mp4 is an MP4');
});
