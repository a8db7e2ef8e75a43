// Runs image jobs in-process: the executor model on the CPU, a media pool, and the job handler, joined by a
// JobContext like the job service's, which records outputs, events, seeds and model runs.
import sharp from 'sharp';
import type { PipelineEvent } from '../../src/jobs/types.js';
import type { ModelView, ParseContext } from '../../src/pipelines/job-handler.js';
import { loadImageModel } from '../../src/pipelines/image/executor-model.js';
import { imageJobHandler } from '../../src/pipelines/image/job-handler.js';
import { loadPipeline, pipelineContexts } from '../helpers/pipeline-contexts.js';

export interface JobRecord {
  outputs: Map<string, { contentType: string; data: Buffer }>;
  events: PipelineEvent[];
  runs: string[];
  seeds: number[];
  result: unknown;
}

export interface ImageHarness {
  model: ModelView;
  parseContext(uploads?: Record<string, Buffer>): ParseContext;
  /** parses `input` and runs the job; `onEvent` may abort via the controller */
  run(input: unknown, options?: { uploads?: Record<string, Buffer>; onEvent?: (e: PipelineEvent, abort: () => void) => void }): Promise<JobRecord>;
  close(): Promise<void>;
}

const VARIANTS = ['tiny-sd', 'tiny-sd-ids-int64', 'tiny-sd-timestep-float', 'tiny-sd-timestep-scalar', 'tiny-sd-vae-parameters', 'tiny-sd-vae-variance', 'tiny-sd-tokenizer-json', 'tiny-sd-vae-scaling', 'tiny-sd-fp16', 'tiny-sd-pndm', 'tiny-sd-thresholding', 'tiny-sd-lcm-guidance'];

export async function imageHarness(name = 'tiny-sd'): Promise<ImageHarness> {
  const { model, executorModel, media, parseContext, close } = await loadPipeline(VARIANTS, name, loadImageModel);

  async function run(input: unknown, options: { uploads?: Record<string, Buffer>; onEvent?: (e: PipelineEvent, abort: () => void) => void } = {}): Promise<JobRecord> {
    const uploads = options.uploads ?? {};
    const record: JobRecord = { outputs: new Map(), events: [], runs: [], seeds: [], result: null };
    const { controller, context, admission } = pipelineContexts(model, media, executorModel, uploads, {
      emit(event) {
        record.events.push(event);
        options.onEvent?.(event, () => controller.abort());
      },
      observeRun: (graph) => record.runs.push(graph),
      writeOutput: (name, contentType, data) => record.outputs.set(name, { contentType, data }),
      reportSeed: (seed) => record.seeds.push(seed),
    });
    const parsed = await imageJobHandler.admit!(imageJobHandler.parse(input, parseContext(uploads)), admission);
    record.result = await imageJobHandler.run(parsed, context);
    return record;
  }

  return {
    model,
    parseContext,
    run,
    close,
  };
}

/** An output decoded back to RGB. */
export async function pixels(data: Buffer): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  const { data: rgb, info } = await sharp(data).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { rgb, width: info.width, height: info.height };
}

/** Mean of each RGB channel, 0–255. */
export function channelMeans(rgb: Uint8Array): [number, number, number] {
  const sums = [0, 0, 0];
  for (let i = 0; i < rgb.length; i++) sums[i % 3]! += rgb[i]!;
  const count = rgb.length / 3;
  return [sums[0]! / count, sums[1]! / count, sums[2]! / count];
}

export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** A PNG whose left half is blue and right half yellow. */
export function halvesPng(width: number, height: number): Promise<Buffer> {
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      rgb.set(x < width / 2 ? [30, 60, 220] : [230, 210, 40], (y * width + x) * 3);
    }
  }
  return sharp(rgb, { raw: { width, height, channels: 3 } }).png().toBuffer();
}
