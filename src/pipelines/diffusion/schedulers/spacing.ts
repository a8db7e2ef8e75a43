import type { SchedulerConfig } from './config.js';

/**
 * The training timesteps to visit, highest first, as diffusers spaces them (`timestep_spacing`). Floats: Euler
 * samplers keep `linspace`'s fractions, the others round them (see `integerTimesteps`).
 */
export function spacedTimesteps(config: SchedulerConfig, steps: number): number[] {
  const train = config.num_train_timesteps;
  const out: number[] = [];
  if (config.timestep_spacing === 'linspace') {
    for (let i = steps - 1; i >= 0; i--) out.push(steps === 1 ? 0 : ((train - 1) * i) / (steps - 1));
  } else if (config.timestep_spacing === 'leading') {
    const ratio = Math.floor(train / steps);
    for (let i = steps - 1; i >= 0; i--) out.push(i * ratio + config.steps_offset);
  } else {
    const ratio = train / steps;
    // numpy's arange(train, 0, -ratio) has `steps` values; rounded half to even, minus one
    for (let i = 0; i < steps; i++) out.push(roundHalfEven(train - i * ratio) - 1);
  }
  return out;
}

/** diffusers' DDIM/LCM round their float grids with numpy's round (half to even). */
export const integerTimesteps = (timesteps: number[]): number[] => timesteps.map(roundHalfEven);

export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
