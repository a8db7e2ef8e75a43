// A scratch root belongs to one live daemon: a second one's start-up sweep would erase the first one's jobs. The
// claim is a Unix socket the daemon listens on in the root. Binding a path is atomic (of two daemons, one gets
// EADDRINUSE), and the kernel stops the listening with the process however it ends, so a socket that no one answers
// on is stale: in any pid namespace (two containers that are both pid 1 on one volume), after a kill -9, on any OS.
import net from 'node:net';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ScratchRootUnusable, unusable } from './scratch-root.js';

const CLAIM = '.claim.sock';
/** sun_path holds 108 bytes with its NUL; libuv cuts a longer path short rather than refuse it */
const MAX_SOCKET_PATH_BYTES = 107;

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

/** The claim is the claim's own business: the start-up sweep leaves it be. */
export const isClaimFile = (name: string): boolean => name === CLAIM;

const listen = (server: net.Server, file: string): Promise<void> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(file, () => {
      server.off('error', reject);
      resolve();
    });
  });

/** The pid the holder of `file` answers with, or null when no one listens there (a claim left by a dead process). */
function holderOf(file: string): Promise<number | null> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = net.connect(file);
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    socket.once('end', () => resolve(Number(answer)));
    socket.once('error', () => resolve(null));
  });
}

/**
 * Claims `root` for this process, taking over a claim no one answers on (its leftovers are for the sweep). Throws
 * ScratchRootClaimed when a live process holds it. Binding the claim proves the root writable: a root that is not
 * fails here, not in every job.
 */
export async function claimScratchRoot(root: string): Promise<ScratchClaim> {
  const file = path.join(root, CLAIM);
  if (Buffer.byteLength(file) > MAX_SOCKET_PATH_BYTES) {
    throw new ScratchRootUnusable(`${root} is too long a path for the daemon's claim on it (a Unix socket path holds at most ${MAX_SOCKET_PATH_BYTES} bytes)`);
  }
  const server = net.createServer((socket) => socket.end(String(process.pid)));
  // the claim lasts as long as the daemon, and never keeps a process alive on its own
  server.unref();
  for (let attempt = 0; ; attempt++) {
    try {
      await listen(server, file);
      return { release: () => new Promise((resolve) => server.close(() => resolve())) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 2) throw unusable(root, 'is not writable', err);
    }
    const holder = await holderOf(file);
    if (holder !== null) throw new ScratchRootClaimed(root, holder);
    await rm(file, { force: true }).catch((err: unknown) => {
      throw unusable(root, `holds a ${CLAIM} that is not a socket`, err);
    });
  }
}
