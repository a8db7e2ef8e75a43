import type { SchedulerConfig } from './config.js';
import { DdpmGridScheduler } from './ddim.js';
import { integerTimesteps, spacedTimesteps } from './spacing.js';
import type { NormalSource } from '../noise.js';

/**
 * PNDM's timesteps with skip_prk_steps, as diffusers' PNDMScheduler.set_timesteps: the DDPM-style grid, highest
 * first, with its second timestep visited twice, so `steps` steps take steps + 1 model calls (one step, one call).
 */
export function pndmTimesteps(config: SchedulerConfig, steps: number): number[] {
  const grid = integerTimesteps(spacedTimesteps(config, steps));
  return steps > 1 ? [grid[0]!, grid[1]!, ...grid.slice(1)] : grid;
}

/** Adams–Bashforth weights for the last one to four model outputs, newest first. */
const ADAMS_BASHFORTH: readonly (readonly number[])[] = [[1], [3 / 2, -1 / 2], [23 / 12, -16 / 12, 5 / 12], [55 / 24, -59 / 24, 37 / 24, -9 / 24]];

/** One sample's multistep state: the method combines its own past model outputs, so each item of a batch has one. */
interface History {
  calls: number;
  /** the model outputs the method combines, oldest first, at most four (the second call's is not kept) */
  outputs: Float32Array[];
  /** the sample the first call stepped from, which the second call steps from again */
  start: Float32Array | null;
}

/**
 * Pseudo linear multistep sampling (PLMS, Liu et al. 2022), as diffusers' PNDMScheduler with skip_prk_steps: the
 * first call steps with its output alone; the second, at the repeated timestep, redoes that step from the same
 * sample with the mean of both outputs; each later call steps with the Adams–Bashforth combination of the last
 * (up to four) outputs. Every step moves ⌊T/steps⌋ training timesteps down, whatever the spacing, as diffusers does.
 * The counting starts at the first call run, so image-to-image, which skips the first calls, starts it again there.
 */
export class PndmScheduler extends DdpmGridScheduler {
  readonly timesteps: readonly number[];
  /** the first call only predicts the point the second corrects: it completes no step */
  readonly warmupCalls: number;
  private readonly histories: History[] = [];

  constructor(config: SchedulerConfig, steps: number) {
    super(config, steps);
    this.timesteps = pndmTimesteps(config, steps);
    this.warmupCalls = this.timesteps.length - steps;
  }

  step(modelOutput: Float32Array, step: number, sample: Float32Array, _noise: NormalSource, item = 0): Float32Array {
    const history = (this.histories[item] ??= { calls: 0, outputs: [], start: null });
    const t = this.timesteps[step]!;
    const call = history.calls++;
    if (call === 1) {
      const start = history.start!;
      history.start = null;
      return this.previousSample(start, t + this.stride, t, [modelOutput, history.outputs[0]!], [1 / 2, 1 / 2]);
    }
    // copies: the loop reuses the buffer the output comes in, and owns the sample
    history.outputs.push(modelOutput.slice());
    if (history.outputs.length > 4) history.outputs.shift();
    if (call === 0) history.start = sample.slice();
    const newestFirst = [...history.outputs].reverse();
    return this.previousSample(sample, t, t - this.stride, newestFirst, ADAMS_BASHFORTH[newestFirst.length - 1]!);
  }

  /**
   * PNDM's transfer (its paper's eq. 9) from timestep `from` to `to` with ε = Σ weights·outputs (the outputs turned
   * into ε after combining, for v-prediction); past the last timestep ᾱ is final_alpha_cumprod.
   */
  private previousSample(sample: Float32Array, from: number, to: number, outputs: readonly Float32Array[], weights: readonly number[]): Float32Array {
    const alphaBar = this.alphaBarAt(from);
    const alphaBarPrev = this.alphaBarAt(to);
    const sampleCoeff = Math.sqrt(alphaBarPrev / alphaBar);
    const outputCoeff = (alphaBarPrev - alphaBar) / (alphaBar * Math.sqrt(1 - alphaBarPrev) + Math.sqrt(alphaBar * (1 - alphaBar) * alphaBarPrev));
    const vPrediction = this.config.prediction_type === 'v_prediction';
    const out = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i]!;
      let combined = 0;
      for (let k = 0; k < outputs.length; k++) combined += weights[k]! * outputs[k]![i]!;
      const epsilon = vPrediction ? Math.sqrt(alphaBar) * combined + Math.sqrt(1 - alphaBar) * x : combined;
      out[i] = sampleCoeff * x - outputCoeff * epsilon;
    }
    return out;
  }
}
