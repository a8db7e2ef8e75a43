// A daemon on --port 0 names its default root for its pid, so no later daemon takes that root over the way a restart
// on a fixed port does: one killed with -9 would leave its root, and the job directories in it, for good. So a daemon
// on a default root reaps the dead --port 0 roots beside its own.
import { lstat, readdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { claimScratchRoot } from './scratch-claim.js';
import { PORT0_ROOT } from './scratch-root.js';
import type { ScratchStore } from './scratch-store.js';

/** whether a process has `pid` now (EPERM: another user's) */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Erases, as the start-up sweep erases its own, the job directories of every dead `infernode-0-<pid>` root beside
 * `own`, then removes the root. Dead: its pid runs nothing (a daemon that made its root but has not claimed it yet
 * is alive, and so is one that reused a dead one's pid and is about to take its root over), and it claims the root
 * the normal way, so a live holder in another pid namespace keeps it and of two reapers one works on it. A root
 * holding anything but job directories stays, like those entries.
 */
export async function reapDeadRoots(own: string, store: ScratchStore): Promise<{ roots: number; swept: number }> {
  const parent = path.dirname(own);
  const reaped = { roots: 0, swept: 0 };
  for (const name of await readdir(parent).catch(() => [])) {
    const pid = PORT0_ROOT.exec(name)?.[1];
    const dir = path.join(parent, name);
    if (pid === undefined || dir === own || running(Number(pid))) continue;
    const found = await lstat(dir).catch(() => null);
    // the parent (/dev/shm, /tmp) is everyone's: no symlink to follow, and another user's root is theirs to reap
    if (!found?.isDirectory() || found.uid !== process.getuid?.()) continue;
    // a live holder, or a root this process may not write: not ours to touch
    const claim = await claimScratchRoot(dir).catch(() => null);
    if (!claim) continue;
    let emptied = false;
    try {
      const { swept, left } = await store.sweep(dir);
      reaped.swept += swept;
      emptied = left === 0;
    } catch {
      // gone meanwhile, or unreadable: left for a later start
    } finally {
      await claim.release();
    }
    // rmdir, not rm: a root that another reaper claimed once this claim was gone holds its claim, and stays
    if (emptied && (await rmdir(dir).then(() => true, () => false))) reaped.roots++;
  }
  return reaped;
}
