import { unsupportedSamplers, type SchedulerConfig } from './config.js';
import { DdimScheduler } from './ddim.js';
import { EulerScheduler } from './euler.js';
import { LcmScheduler } from './lcm.js';
import { PndmScheduler } from './pndm.js';
import { startStep, type Scheduler, type SchedulerName } from './scheduler.js';

export { parseSchedulerConfigs, SchedulerConfigError, unsupportedSamplers, type SchedulerConfig, type SchedulerConfigs } from './config.js';
export { SCHEDULER_NAMES, startStep, type Scheduler, type SchedulerName } from './scheduler.js';
export { lcmGridSize } from './lcm.js';

/** A job's sampler, its tables set, and the step sampling starts at. */
export interface SamplingPlan {
  scheduler: Scheduler;
  firstStep: number;
}

/**
 * The sampler for `steps` steps at image-to-image `strength` (1 for text-to-image). lcm builds its timesteps from
 * the strength and runs all `steps` (diffusers' LCMScheduler.set_timesteps(strength=)); the others skip the first
 * steps of their full schedule, as diffusers' img2img pipelines do (for pndm, whose table has one call more than
 * steps, the first entries of its table: diffusers slices it at the same index).
 */
export function createScheduler(name: SchedulerName, config: SchedulerConfig, steps: number, strength = 1): SamplingPlan {
  const skipping = (scheduler: Scheduler): SamplingPlan => ({ scheduler, firstStep: startStep(steps, strength) });
  switch (name) {
    case 'euler':
      return skipping(new EulerScheduler(config, steps, false));
    case 'euler_a':
      return skipping(new EulerScheduler(config, steps, true));
    case 'ddim':
      return skipping(new DdimScheduler(config, steps));
    case 'lcm':
      return { scheduler: new LcmScheduler(config, steps, strength), firstStep: 0 };
    case 'pndm': {
      const scheduler = new PndmScheduler(config, steps);
      const firstStep = startStep(steps, strength);
      // strength 0 runs no step, as with the other samplers: index `steps` is still in this table (its lowest
      // timestep, one call diffusers would make), so start past its end
      return { scheduler, firstStep: firstStep === steps ? scheduler.timesteps.length : firstStep };
    }
  }
}

/**
 * The sampler a model's scheduler_config.json names (`_class_name`), for jobs that name none. A PNDM file that
 * asks for Runge–Kutta steps, which pndm does not make, runs euler, as every PNDM file did before pndm existed.
 */
export function defaultSchedulerName(raw: Record<string, unknown>): SchedulerName {
  const className = typeof raw._class_name === 'string' ? raw._class_name : '';
  if (className.startsWith('EulerAncestral')) return 'euler_a';
  if (className.startsWith('LCM')) return 'lcm';
  if (className.startsWith('DDIM')) return 'ddim';
  if (className.startsWith('PNDM')) return unsupportedSamplers(raw).pndm ? 'euler' : 'pndm';
  return 'euler';
}
