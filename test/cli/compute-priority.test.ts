// Run against `infernode serve` as a process of its own, without the test runner's NODE_OPTIONS (which it puts back
// into every child's environment): its loader hooks start a thread in every worker before the worker's code runs.
const PLAIN = ['env', '-u', 'NODE_OPTIONS'];
import t from 'tap';
import { readdir, readFile } from 'node:fs/promises';
import { spawnDaemon } from '../../bench/lib/daemon-process.js';
import { waitReady } from '../../bench/lib/measure.js';
import { fixtureModelsDir } from '../helpers/fixtures.js';
import { TENSOR_JOB } from '../helpers/http.js';

/** Name and nice value of each thread of `pid` (proc(5): comm, and field 19 of /proc/<pid>/task/<tid>/stat). */
async function threadsOf(pid: number): Promise<Map<number, { name: string; nice: number }>> {
  const out = new Map<number, { name: string; nice: number }>();
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    // a thread can end between the listing and the read
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => null);
    if (!stat) continue;
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    out.set(Number(tid), { name, nice: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]) });
  }
  return out;
}

const IMAGE_JOB = {
  type: 'image',
  model: 'tiny-sd',
  input: { prompt: 'a red square', width: 64, height: 64, steps: 1, seed: 1 },
};

t.test('every thread but the main one runs at --compute-nice: executor, media pool, libuv pool, libvips, V8 helpers', async (t) => {
  const daemon = await spawnDaemon(['--models-dir', await fixtureModelsDir(['tiny-tensor', 'tiny-sd']), '--device', 'cpu', '--compute-nice', '7'], {}, PLAIN);
  t.teardown(() => void daemon.child.kill('SIGTERM'));
  await waitReady(daemon.url);
  for (const job of [TENSOR_JOB, IMAGE_JOB]) {
    const res = await fetch(`${daemon.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'wait=60' }, body: JSON.stringify(job) });
    t.equal(((await res.json()) as { status: string }).status, 'succeeded', job.type);
  }
  const pid = daemon.child.pid!;
  const threads = await threadsOf(pid);
  t.equal(threads.get(pid)?.nice, 0, 'the main thread keeps nice 0');
  t.ok([...threads.values()].some((th) => th.name === 'libvips worker'), 'the PNG encode started libvips workers');
  const others = [...threads].filter(([tid]) => tid !== pid);
  t.same(others.filter(([, th]) => th.nice !== 7), [], `all ${others.length} other threads at 7`);
});

t.test('--compute-nice 0 leaves every thread as the main one', async (t) => {
  const daemon = await spawnDaemon(['--models-dir', await fixtureModelsDir(['tiny-tensor']), '--device', 'cpu', '--compute-nice', '0'], {}, PLAIN);
  t.teardown(() => void daemon.child.kill('SIGTERM'));
  await waitReady(daemon.url);
  const res = await fetch(`${daemon.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'wait=60' }, body: JSON.stringify(TENSOR_JOB) });
  t.equal(((await res.json()) as { status: string }).status, 'succeeded');
  t.same([...(await threadsOf(daemon.child.pid!)).values()].filter((th) => th.nice !== 0), []);
});

t.test('a daemon its operator already put lower keeps its threads there: --compute-nice never raises one', async (t) => {
  const daemon = await spawnDaemon(['--models-dir', await fixtureModelsDir(['tiny-tensor']), '--device', 'cpu', '--compute-nice', '10'], {}, [...PLAIN, 'nice', '-n', '15']);
  t.teardown(() => void daemon.child.kill('SIGTERM'));
  await waitReady(daemon.url);
  const res = await fetch(`${daemon.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'wait=60' }, body: JSON.stringify(TENSOR_JOB) });
  t.equal(((await res.json()) as { status: string }).status, 'succeeded');
  t.same([...(await threadsOf(daemon.child.pid!)).values()].filter((th) => th.nice !== 15), []);
  t.notMatch(daemon.output(), /keep the main thread's priority/);
});
