// A scratch root belongs to one live daemon: a second one's start-up sweep would erase the first one's jobs. Node has
// no flock, so each claimer writes a file named for its process and then looks for the others' files: of two daemons
// claiming at once, the later to look always sees the earlier's file, so at most one of them goes on. A process is
// its pid and its start time, so a claim left by a kill -9 is stale even once the pid is reused (pid 1 in a restarted
// container, say).
import { readFileSync } from 'node:fs';
import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ScratchRootUnusable, unusable } from './scratch-root.js';

const PREFIX = '.claim-';

/** Another live process holds the root. */
export class ScratchRootClaimed extends ScratchRootUnusable {
  override name = 'ScratchRootClaimed';
  constructor(
    readonly root: string,
    readonly pid: number,
  ) {
    super(`${root} is in use by a live infernode (pid ${pid}); give each daemon its own --port or --scratch-dir`);
  }
}

export interface ScratchClaim {
  release(): Promise<void>;
}

/** Claim files are the claims' own business: the start-up sweep leaves them be. */
export const isClaimFile = (name: string): boolean => name.startsWith(PREFIX);

/** Clock ticks from boot to the process's start (/proc/<pid>/stat field 22), or null where there is no /proc. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count fields from the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

const claimName = (pid: number, started: string | null): string => `${PREFIX}${pid}-${started ?? 'unknown'}`;

function isLive(pid: number, started: string): boolean {
  // kill(0) would signal our own process group
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTime(pid);
  return started === 'unknown' || now === null || now === started;
}

/**
 * Claims `root` for this process, taking over the claims of dead processes (their leftovers are for the sweep).
 * Throws ScratchRootClaimed when a live process holds it. Writing the claim proves the root writable: a root that
 * is not fails here, not in every job.
 */
export async function claimScratchRoot(root: string): Promise<ScratchClaim> {
  const mine = claimName(process.pid, startTime(process.pid));
  const file = path.join(root, mine);
  await writeFile(file, '', { mode: 0o600 }).catch((err: unknown) => {
    throw unusable(root, 'is not writable', err);
  });
  for (const name of (await readdir(root)).filter((n) => isClaimFile(n) && n !== mine)) {
    const [pid = '', started = ''] = name.slice(PREFIX.length).split('-');
    if (isLive(Number(pid), started)) {
      await rm(file, { force: true });
      throw new ScratchRootClaimed(root, Number(pid));
    }
    await rm(path.join(root, name), { force: true });
  }
  return { release: () => rm(file, { force: true }) };
}
