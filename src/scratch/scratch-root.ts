import { existsSync } from 'node:fs';
import { mkdir, statfs } from 'node:fs/promises';
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

export interface ScratchRoot {
  dir: string;
  memoryBacked: boolean;
}

/**
 * The default root: tmpfs (/dev/shm) where the host has one, so nothing a job writes reaches a disk at all. Named for
 * the port, so that a restart on it sweeps what a crash left; daemons on --port 0 could share no port, so theirs is
 * named for the process.
 */
export async function resolveScratchRoot(configured: string | null, port: number): Promise<ScratchRoot> {
  const name = port === 0 ? `infernode-0-${process.pid}` : `infernode-${port}`;
  const dir = path.resolve(configured ?? (existsSync('/dev/shm') ? `/dev/shm/${name}` : path.join(os.tmpdir(), name)));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const fs = await statfs(dir);
  return { dir, memoryBacked: fs.type === TMPFS_MAGIC };
}
