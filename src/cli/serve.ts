import type { Config } from '../config/options.js';
import { ConfigError } from '../config/options.js';
import { DeviceError } from '../runtime/devices.js';
import { buildNode } from '../server/app.js';
import { nodeOptionsFromConfig } from '../server/node-options.js';

/** `infernode serve`: runs until SIGTERM/SIGINT, then drains, erases everything and exits 0. */
export async function serve(config: Config): Promise<number> {
  let options;
  try {
    options = await nodeOptionsFromConfig(config);
  } catch (err) {
    if (err instanceof DeviceError) throw new ConfigError(err.message);
    throw err;
  }
  const node = await buildNode(options);
  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      node.log.info({ signal }, 'signal received');
      void node.shutdown().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
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
