import type { Config } from '../config/options.js';
import { ConfigError } from '../config/options.js';
import { DeviceError } from '../runtime/devices.js';
import { ScratchRootUnusable } from '../scratch/scratch-root.js';
import { buildNode } from '../server/app.js';
import { nodeOptionsFromConfig } from '../server/node-options.js';

/** What the operator must fix is one line and exit 2 (main.ts), not a stack trace. */
function asConfigError(err: unknown): never {
  if (err instanceof DeviceError) throw new ConfigError(err.message);
  if (err instanceof ScratchRootUnusable) throw new ConfigError(`--scratch-dir: ${err.message}`);
  throw err;
}

/** `infernode serve`: runs until SIGTERM, SIGINT or SIGHUP, then drains, erases everything and exits 0. */
export async function serve(config: Config): Promise<number> {
  const node = await buildNode(await nodeOptionsFromConfig(config).catch(asConfigError)).catch(asConfigError);
  let stopping = false;
  let repeatLogged = false;
  const stopped = new Promise<void>((resolve) => {
    // every signal, not once: after a `once` handler a second SIGTERM (an impatient operator, a supervisor that
    // repeats) would kill the process mid-drain, with job inputs still in scratch
    const stop = (signal: string): void => {
      if (stopping) {
        if (!repeatLogged) node.log.warn({ signal }, 'signal ignored: the drain is in progress');
        repeatLogged = true;
        return;
      }
      stopping = true;
      node.log.info({ signal }, 'signal received');
      void node.shutdown().then(resolve);
    };
    // SIGHUP too: the node has nothing to reload, and Node's default for it is to die at once, skipping the drain
    // and the erasure (a closed terminal, or an operator used to `kill -HUP` for a reload)
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => stop(signal));
  });
  try {
    await node.start();
  } catch (err) {
    node.log.fatal({ errorClass: err instanceof Error ? err.name : 'error', message: err instanceof Error ? err.message : String(err) }, 'could not start');
    if (!stopping) await node.shutdown().catch(() => undefined);
    return 1;
  }
  await stopped;
  return 0;
}
