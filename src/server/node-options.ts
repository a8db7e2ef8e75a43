import { readdir } from 'node:fs/promises';
import type { DestinationStream } from 'pino';
import { ConfigError, type Config } from '../config/options.js';
import { webhookDispatcherFromConfig } from '../jobs/webhooks/dispatcher.js';
import { isFfmpegUnavailable, prepareVideoEncoding } from '../media/ffmpeg-binary.js';
import { nativeStatus } from '../native/kernels.js';
import { openNvml } from '../native/nvml.js';
import { resolveDevices } from '../runtime/devices.js';
import type { NodeOptions } from './app.js';
import { authenticatorFromConfig } from './auth/from-config.js';
import { authPlugin } from './auth/plugin.js';
import { buildHttpsOptions } from './auth/tls-options.js';

/** A models dir that cannot be listed would make a node that is ready with no models, and says nothing. */
async function requireModelsDir(dir: string): Promise<void> {
  await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    const why = err.code === 'ENOENT' ? 'does not exist' : err.code === 'ENOTDIR' ? 'is not a directory' : `cannot be read (${err.code})`;
    throw new ConfigError(`--models-dir: ${dir} ${why}`);
  });
}

/**
 * Everything `infernode serve` decides before building the node: auth policy and tokens, TLS, devices (with
 * NVML's GPU count), webhooks, and the facts the start-up log and /readyz report. Throws ConfigError or
 * DeviceError (exit 2) for what the operator must fix.
 */
export async function nodeOptionsFromConfig(config: Config, extra: { logStream?: DestinationStream } = {}): Promise<NodeOptions> {
  const authenticator = await authenticatorFromConfig(config);
  const https = await buildHttpsOptions(config);
  await requireModelsDir(config.modelsDir);
  const { nvml, reason: nvmlNote } = openNvml();
  const { devices, warning } = resolveDevices(config.device, nvml ? nvml.gpuCount : null);
  const videoEncoding = await prepareVideoEncoding(config.videoEncoder);
  const ffmpegFacts = isFfmpegUnavailable(videoEncoding)
    ? { ffmpeg: { available: false, reason: videoEncoding.error } }
    : { ffmpeg: { path: videoEncoding.ffmpeg.path, version: videoEncoding.ffmpeg.version, source: videoEncoding.ffmpeg.source, encoders: videoEncoding.encoders } };
  const native = nativeStatus();
  return {
    config,
    devices,
    https,
    nvml,
    ...extra,
    auth: async (app) => {
      await app.register(authPlugin, { authenticator });
    },
    webhooks: (log) => webhookDispatcherFromConfig(config, log),
    readyFacts: ffmpegFacts,
    videoEncoding,
    startupNotes: [
      ...(warning ? [{ level: 'warn' as const, msg: warning }] : []),
      { level: 'info', msg: 'native addon', facts: { native: native.reason } },
      { level: 'info', msg: 'GPU telemetry', facts: { nvml: nvmlNote } },
      isFfmpegUnavailable(videoEncoding)
        ? { level: 'warn', msg: 'no usable ffmpeg: video jobs will fail; the other types are unaffected', facts: { reason: videoEncoding.error } }
        : { level: 'info', msg: 'ffmpeg', facts: ffmpegFacts.ffmpeg },
      { level: 'info', msg: 'devices', facts: { devices: devices.map((d) => d.id), authEnabled: authenticator.enabled } },
    ],
  };
}
