import ort from 'onnxruntime-node';
import type { RunContext } from '../executor-types.js';
import { declared, floatTensor, floatType, readFloats, requireDeclared, timedRun, type DeclaredTensor, type FloatType } from './session-io.js';
import type { PromptEmbeddings } from './text-encoder.js';

/** The inputs this pipeline feeds; a UNet that declares others (SDXL's text_embeds, time_ids) cannot run here. */
const FED = new Set(['sample', 'timestep', 'encoder_hidden_states', 'timestep_cond']);

/**
 * A diffusers UNet export (`sample`, `timestep`, `encoder_hidden_states` → `out_sample`), 2-D or 3-D alike: the
 * timestep is fed as the graph declares it (int64 or float, shape [1] or a scalar), floats in its precision.
 * A UNet distilled with guidance (LCM, whose config has time_cond_proj_dim) also takes `timestep_cond`
 * [batch, time_cond_proj_dim], the embedding of its guidance scale (see guidanceEmbedding).
 */
export class Unet {
  private readonly sample: DeclaredTensor;
  private readonly sampleType: FloatType;
  private readonly timestep: DeclaredTensor;
  private readonly hidden: DeclaredTensor;
  private readonly hiddenType: FloatType;
  private readonly output: string;
  private readonly cond: DeclaredTensor | null;
  private readonly condType: FloatType;
  /** the width of the guidance embedding `timestep_cond`, null when the UNet takes none (it is guided by CFG) */
  readonly guidanceEmbeddingDim: number | null;

  /** `timeCondProjDim`: unet/config.json's, for a graph whose timestep_cond width is symbolic */
  constructor(private readonly session: ort.InferenceSession, timeCondProjDim?: number) {
    const other = session.inputNames.find((name) => !FED.has(name));
    if (other !== undefined) throw new Error(`unet: input ${other} is not one this pipeline feeds (SDXL's text_embeds and time_ids are not supported)`);
    this.sample = requireDeclared(session, 'unet', 'input', ['sample']);
    this.sampleType = floatType(this.sample, 'unet');
    this.timestep = requireDeclared(session, 'unet', 'input', ['timestep']);
    this.hidden = requireDeclared(session, 'unet', 'input', ['encoder_hidden_states']);
    this.hiddenType = floatType(this.hidden, 'unet');
    const output = requireDeclared(session, 'unet', 'output', ['out_sample', session.outputNames[0]!]);
    this.output = output.name;
    // an inpainting UNet takes the masked image and its mask beside the latents (9 channels in, 4 out): fed 4, it
    // would fail inside ONNX Runtime on every job, so it is refused at load
    const [channelsIn, channelsOut] = [this.sample.shape[1], output.shape[1]];
    if (typeof channelsIn === 'number' && typeof channelsOut === 'number' && channelsIn !== channelsOut) {
      throw new Error(`unet: sample has ${channelsIn} channels and ${output.name} ${channelsOut}; inpainting UNets (latents, mask and masked image) are not supported`);
    }
    this.cond = declared(session, 'input', ['timestep_cond']);
    this.condType = this.cond ? floatType(this.cond, 'unet') : 'float32';
    const width = this.cond?.shape[1];
    this.guidanceEmbeddingDim = this.cond ? (typeof width === 'number' && width > 0 ? width : (timeCondProjDim ?? null)) : null;
    if (this.cond && this.guidanceEmbeddingDim === null) throw new Error('unet: timestep_cond has no fixed width and unet/config.json no time_cond_proj_dim');
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

  /** `cond`: the batch's guidance embeddings ([batch, guidanceEmbeddingDim]), for a UNet that takes them */
  async predict(sample: Float32Array, sampleDims: readonly number[], t: number, hidden: PromptEmbeddings, ctx: Pick<RunContext, 'observeRun'> | null, cond?: Float32Array): Promise<Float32Array> {
    const feeds: Record<string, ort.Tensor> = {
      [this.sample.name]: floatTensor(this.sampleType, sample, sampleDims),
      [this.timestep.name]: this.timestepTensor(t),
      [this.hidden.name]: floatTensor(this.hiddenType, hidden.data, hidden.dims),
    };
    if (this.cond) {
      if (!cond) throw new Error('unet: takes timestep_cond (a guidance embedding), which this pipeline does not feed');
      feeds[this.cond.name] = floatTensor(this.condType, cond, [sampleDims[0]!, this.guidanceEmbeddingDim!]);
    }
    return readFloats((await timedRun(this.session, 'unet', feeds, ctx))[this.output]!);
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
