import type { SchedulerConfig } from './config.js';
import { DdimScheduler } from './ddim.js';
import { EulerScheduler } from './euler.js';
import { LcmScheduler } from './lcm.js';
import type { Scheduler, SchedulerName } from './scheduler.js';

export { parseSchedulerConfigs, SchedulerConfigError, type SchedulerConfig, type SchedulerConfigs } from './config.js';
export { SCHEDULER_NAMES, startStep, type Scheduler, type SchedulerName } from './scheduler.js';

/** A sampler with its tables set for `steps` denoising steps. */
export function createScheduler(name: SchedulerName, config: SchedulerConfig, steps: number): Scheduler {
  switch (name) {
    case 'euler':
      return new EulerScheduler(config, steps, false);
    case 'euler_a':
      return new EulerScheduler(config, steps, true);
    case 'ddim':
      return new DdimScheduler(config, steps);
    case 'lcm':
      return new LcmScheduler(config, steps);
  }
}

/** The sampler a model's scheduler_config.json names (`_class_name`), for jobs that name none. */
export function defaultSchedulerName(raw: Record<string, unknown>): SchedulerName {
  const className = typeof raw._class_name === 'string' ? raw._class_name : '';
  if (className.startsWith('EulerAncestral')) return 'euler_a';
  if (className.startsWith('LCM')) return 'lcm';
  if (className.startsWith('DDIM')) return 'ddim';
  return 'euler';
}
