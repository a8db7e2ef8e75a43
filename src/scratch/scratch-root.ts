import { existsSync } from 'node:fs';
import { mkdir, stat, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const TMPFS_MAGIC = 0x01021994;

/** The root cannot hold scratch: the operator must fix --scratch-dir (or the host). */
export class ScratchRootUnusable extends Error {
  override name = 'ScratchRootUnusable';
}

/** `what the root is: cause (CODE)`, for an error of the file system */
export const unusable = (dir: string, what: string, err: unknown): ScratchRootUnusable =>
  new ScratchRootUnusable(`${dir} ${what} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);

/**
 * mkdir -p, one level at a time: Node's recursive mkdir takes ENOENT for a missing parent and retries for good where a
 * file system refuses the directory itself (/proc/x).
 */
async function makeRoot(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let at = dir; ; at = path.dirname(at)) {
    const found = await stat(at).catch((err: NodeJS.ErrnoException) => {
      // ENOTDIR: a file on the way up, which the walk names
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
      throw unusable(dir, 'cannot be created', err);
    });
    if (found?.isDirectory()) break;
    if (found) throw new ScratchRootUnusable(at === dir ? `${dir} is not a directory` : `${dir} cannot be created: ${at} is not a directory`);
    missing.unshift(at);
  }
  for (const level of missing) {
    await mkdir(level, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
      // made meanwhile by another process: fine, if it is a directory (the next level, or the claim, will tell)
      if (err.code !== 'EEXIST') throw unusable(dir, 'cannot be created', err);
    });
  }
}

/** the default root of a daemon on --port 0, named for its pid */
export const PORT0_ROOT = /^infernode-0-([1-9][0-9]*)$/;

export interface ScratchRoot {
  dir: string;
  memoryBacked: boolean;
}

/**
 * The default root: tmpfs (/dev/shm) where the host has one, so nothing a job writes reaches a disk at all. Named for
 * the port, so that a restart on it sweeps what a crash left; daemons on --port 0 could share no port, so theirs is
 * named for the process (and reaped by a later daemon once it is dead: ./dead-roots.ts).
 */
export async function resolveScratchRoot(configured: string | null, port: number): Promise<ScratchRoot> {
  const name = port === 0 ? `infernode-0-${process.pid}` : `infernode-${port}`;
  const dir = path.resolve(configured ?? (existsSync('/dev/shm') ? `/dev/shm/${name}` : path.join(os.tmpdir(), name)));
  await makeRoot(dir);
  const fs = await statfs(dir);
  return { dir, memoryBacked: fs.type === TMPFS_MAGIC };
}
