import type { DiffusionConfig } from '../diffusion/model-config.js';
import type { ModelSpec } from '../../runtime/model-types.js';
import type { VideoModelInfo } from './protocol.js';

/** Node defaults where neither infernode.json nor the export says otherwise. */
const DEFAULTS = { width: 256, height: 256, frames: 16, fps: 8, steps: 25, guidance_scale: 7.5, max_frames: 64, max_pixels: 512 * 512, max_steps: 100 };

const positive = (value: unknown): number | undefined => (typeof value === 'number' && value > 0 ? value : undefined);

/** A video model's defaults and limits: infernode.json (`defaults`, `limits`), then the export, then ours. */
export function videoModelInfo(spec: ModelSpec, config: DiffusionConfig, imageToVideo: boolean): VideoModelInfo {
  const defaults = spec.manifest.defaults ?? {};
  const limits = spec.manifest.limits ?? {};
  const pick = (source: Record<string, unknown>, key: keyof typeof DEFAULTS, exported?: number): number => positive(source[key]) ?? exported ?? DEFAULTS[key];
  return {
    width: pick(defaults, 'width', config.sampleSizePx),
    height: pick(defaults, 'height', config.sampleSizePx),
    frames: pick(defaults, 'frames'),
    fps: pick(defaults, 'fps'),
    steps: pick(defaults, 'steps'),
    guidance_scale: typeof defaults.guidance_scale === 'number' && defaults.guidance_scale >= 0 ? defaults.guidance_scale : DEFAULTS.guidance_scale,
    vae_scale_factor: config.vaeScaleFactor,
    image_to_video: imageToVideo,
    scheduler: config.defaultScheduler,
    lcm_max_steps: config.schedulers.lcm.original_inference_steps,
    unsupported_schedulers: config.unsupportedSchedulers,
    max_frames: pick(limits, 'max_frames'),
    max_pixels: pick(limits, 'max_pixels'),
    max_steps: pick(limits, 'max_steps'),
  };
}
