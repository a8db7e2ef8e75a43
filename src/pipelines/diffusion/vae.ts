import ort from 'onnxruntime-node';
import type { RunContext } from '../executor-types.js';
import type { NormalSource } from './noise.js';
import { floatTensor, floatType, readFloats, requireDeclared, timedRun, type DeclaredTensor, type FloatType } from './session-io.js';

type Ctx = Pick<RunContext, 'observeRun'> | null;

/** `vae_decoder/model.onnx`: unscaled latents [batch, c, h, w] → images [batch, 3, H, W] in [-1, 1]. */
export class VaeDecoder {
  private readonly input: DeclaredTensor;
  private readonly inputType: FloatType;
  private readonly output: string;

  constructor(private readonly session: ort.InferenceSession) {
    this.input = requireDeclared(session, 'vae_decoder', 'input', ['latent_sample']);
    this.inputType = floatType(this.input, 'vae_decoder');
    this.output = requireDeclared(session, 'vae_decoder', 'output', ['sample', session.outputNames[0]!]).name;
  }

  async decode(latents: Float32Array, dims: readonly number[], ctx: Ctx): Promise<{ data: Float32Array; dims: readonly number[] }> {
    const result = (await timedRun(this.session, 'vae_decoder', { [this.input.name]: floatTensor(this.inputType, latents, dims) }, ctx))[this.output]!;
    return { data: readFloats(result), dims: result.dims };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** An image's unscaled latents as the encoder gives them: one sample, or a distribution to draw from. */
export interface LatentPosterior {
  /** latents drawn with `noise` (a fixed sample ignores it); not to be written to */
  sample(noise: NormalSource): Float32Array;
}

/**
 * `vae_encoder/model.onnx`: image [1, 3, H, W] in [-1, 1] → unscaled latents. Exports write either a sample
 * (`latent_sample`) or the distribution (`latent_parameters`: mean and log-variance halves), which each item of a
 * job samples with its own noise, as diffusers' img2img pipelines sample `latent_dist` once per image.
 */
export class VaeEncoder {
  private readonly input: DeclaredTensor;
  private readonly inputType: FloatType;
  private readonly output: DeclaredTensor;

  constructor(private readonly session: ort.InferenceSession) {
    this.input = requireDeclared(session, 'vae_encoder', 'input', ['sample']);
    this.inputType = floatType(this.input, 'vae_encoder');
    this.output = requireDeclared(session, 'vae_encoder', 'output', ['latent_sample', 'latent_parameters']);
  }

  async encode(image: Float32Array, height: number, width: number, ctx: Ctx): Promise<LatentPosterior> {
    const feeds = { [this.input.name]: floatTensor(this.inputType, image, [1, 3, height, width]) };
    const values = readFloats((await timedRun(this.session, 'vae_encoder', feeds, ctx))[this.output.name]!);
    if (this.output.name === 'latent_sample') return { sample: () => values };
    const half = values.length / 2;
    const deviation = Float64Array.from(values.subarray(half), (logVariance) => Math.exp(0.5 * Math.min(Math.max(logVariance, -30), 20)));
    return {
      sample(noise) {
        const latents = new Float32Array(half);
        for (let i = 0; i < half; i++) latents[i] = values[i]! + deviation[i]! * noise.normal();
        return latents;
      },
    };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
