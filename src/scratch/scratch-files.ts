// How scratch reaches its files. On tmpfs a file operation is a memory copy: done at once on the calling thread it
// costs microseconds, where each call handed to libuv's pool and back costs two thread wake-ups (an image job's
// output was mkdir, open, four writes and close: seven round trips, 1.5 ms on a 2-core VM). Only small files go
// at once, though: copying a video's tens of MiB would stall the event loop for milliseconds. On a disk the pool
// keeps a slow device from stalling it, so there every call goes through the pool.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writevSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';

export interface ScratchFiles {
  makeDir(dir: string): Promise<void>;
  /** writes `parts` in order to a new file (mode 0600) in one writev */
  write(file: string, parts: readonly Uint8Array[]): Promise<void>;
  /** `bytes`: the file's size, as written */
  read(file: string, bytes: number): Promise<Buffer>;
  /** removes a file or a directory tree; absent is fine */
  remove(target: string): Promise<void>;
}

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
/** the largest file copied at once on tmpfs: about a tenth of a millisecond of the event loop */
export const AT_ONCE_BYTES = 1 << 20;

const totalBytes = (parts: readonly Uint8Array[]): number => parts.reduce((n, p) => n + p.byteLength, 0);

/** A short write to a fresh file means the file system is full: the job fails rather than keep a torn file. */
function requireWhole(written: number, parts: readonly Uint8Array[]): void {
  if (written !== totalBytes(parts)) throw new Error(`short write to scratch (${written} of ${totalBytes(parts)} bytes): is the scratch file system full?`);
}

/** For scratch on a disk: every operation on libuv's pool. */
export const pooledFiles: ScratchFiles = {
  async makeDir(dir) {
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
  },
  async write(file, parts) {
    const handle = await open(file, 'w', FILE_MODE);
    try {
      requireWhole((await handle.writev(parts as Uint8Array[])).bytesWritten, parts);
    } finally {
      await handle.close();
    }
  },
  read: (file) => readFile(file),
  remove: (target) => rm(target, { recursive: true, force: true }),
};

/** Writes `parts` in order to a new file (mode 0600) in one writev, blocking the calling thread. */
export function writeFileAtOnce(file: string, parts: readonly Uint8Array[]): void {
  const fd = openSync(file, 'w', FILE_MODE);
  try {
    requireWhole(writevSync(fd, parts as Uint8Array[]), parts);
  } finally {
    closeSync(fd);
  }
}

/** For memory-backed scratch (tmpfs): directories, removals and files up to AT_ONCE_BYTES at once. */
export const memoryFiles: ScratchFiles = {
  async makeDir(dir) {
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  },
  async write(file, parts) {
    if (totalBytes(parts) > AT_ONCE_BYTES) return pooledFiles.write(file, parts);
    writeFileAtOnce(file, parts);
  },
  async read(file, bytes) {
    return bytes > AT_ONCE_BYTES ? pooledFiles.read(file, bytes) : readFileSync(file);
  },
  async remove(target) {
    rmSync(target, { recursive: true, force: true });
  },
};
