import ort from 'onnxruntime-node';
import type { RunContext } from '../executor-types.js';
import { floatTensor, floatType, readFloats, requireDeclared, timedRun, type DeclaredTensor, type FloatType } from './session-io.js';
import type { PromptEmbeddings } from './text-encoder.js';

/**
 * A diffusers UNet export (`sample`, `timestep`, `encoder_hidden_states` → `out_sample`), 2-D or 3-D alike: the
 * timestep is fed as the graph declares it (int64 or float, shape [1] or a scalar), floats in its precision.
 */
export class Unet {
  private readonly sample: DeclaredTensor;
  private readonly sampleType: FloatType;
  private readonly timestep: DeclaredTensor;
  private readonly hidden: DeclaredTensor;
  private readonly hiddenType: FloatType;
  private readonly output: string;

  constructor(private readonly session: ort.InferenceSession) {
    this.sample = requireDeclared(session, 'unet', 'input', ['sample']);
    this.sampleType = floatType(this.sample, 'unet');
    this.timestep = requireDeclared(session, 'unet', 'input', ['timestep']);
    this.hidden = requireDeclared(session, 'unet', 'input', ['encoder_hidden_states']);
    this.hiddenType = floatType(this.hidden, 'unet');
    this.output = requireDeclared(session, 'unet', 'output', ['out_sample', session.outputNames[0]!]).name;
  }

  /** latents' rank as declared (4 for images, 5 for video) */
  get sampleRank(): number {
    return this.sample.shape.length;
  }

  /** The timestep tensor the graph declares: integer timesteps are rounded (Euler's are fractional). */
  timestepTensor(t: number): ort.Tensor {
    const dims = this.timestep.shape.length === 0 ? [] : [1];
    switch (this.timestep.type) {
      case 'int64':
        return new ort.Tensor('int64', BigInt64Array.of(BigInt(Math.round(t))), dims);
      case 'int32':
        return new ort.Tensor('int32', Int32Array.of(Math.round(t)), dims);
      case 'float32':
      case 'float16':
        return floatTensor(this.timestep.type, Float32Array.of(t), dims);
      default:
        throw new Error(`unet: timestep is ${this.timestep.type}, expected int64, int32 or a float`);
    }
  }

  async predict(sample: Float32Array, sampleDims: readonly number[], t: number, hidden: PromptEmbeddings, ctx: Pick<RunContext, 'observeRun'> | null): Promise<Float32Array> {
    const feeds = {
      [this.sample.name]: floatTensor(this.sampleType, sample, sampleDims),
      [this.timestep.name]: this.timestepTensor(t),
      [this.hidden.name]: floatTensor(this.hiddenType, hidden.data, hidden.dims),
    };
    return readFloats((await timedRun(this.session, 'unet', feeds, ctx))[this.output]!);
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
