// Runs video jobs in-process: the executor model on the CPU, a media pool, and the job handler, joined by a
// JobContext like the job service's, which records outputs, events and encoded frames.
import { execFileSync } from 'node:child_process';
import type { PipelineEvent } from '../../src/jobs/types.js';
import type { AdmissionContext, JobContext, ModelView, ParseContext } from '../../src/pipelines/job-handler.js';
import { loadVideoModel } from '../../src/pipelines/video/executor-model.js';
import { loadPipeline, pipelineContexts } from '../helpers/pipeline-contexts.js';

export interface RecordedJob {
  context: JobContext;
  /** what the job service gives `admit` at submission; it seals into the same uploads the run reads */
  admission: AdmissionContext;
  controller: AbortController;
  outputs: Map<string, { contentType: string; data: Buffer }>;
  events: PipelineEvent[];
  framesEncoded: Array<{ codec: string; frames: number }>;
  /** every ONNX Runtime run, for benchmarks */
  runs: Array<{ graph: string; seconds: number }>;
  /** sees every event, from the executor (denoise) and from the handler (encode) alike */
  onEvent: (event: PipelineEvent) => void;
}

export interface VideoHarness {
  model: ModelView;
  parseContext(uploads?: Record<string, Buffer>): ParseContext;
  job(uploads?: Record<string, Buffer>): RecordedJob;
  close(): Promise<void>;
}

export async function videoHarness(): Promise<VideoHarness> {
  const { model, executorModel, media, parseContext, close } = await loadPipeline(['tiny-video'], 'tiny-video', loadVideoModel);

  function job(uploads: Record<string, Buffer> = {}): RecordedJob {
    const recorded: Omit<RecordedJob, 'context' | 'admission' | 'controller'> = { outputs: new Map(), events: [], framesEncoded: [], runs: [], onEvent: () => {} };
    const contexts = pipelineContexts(model, media, executorModel, uploads, {
      emit(event) {
        recorded.events.push(event);
        recorded.onEvent(event);
      },
      observeRun: (graph, seconds) => recorded.runs.push({ graph, seconds }),
      writeOutput: (name, contentType, data) => recorded.outputs.set(name, { contentType, data }),
      recordFramesEncoded: (codec, frames) => recorded.framesEncoded.push({ codec, frames }),
    });
    return Object.assign(recorded, contexts);
  }

  return {
    model,
    parseContext,
    job,
    close,
  };
}

/** Decodes a video back to RGB frames with ffmpeg (ffprobe being absent here). */
export function decodeFrames(ffmpegPath: string, video: Buffer, width: number, height: number): Uint8Array[] {
  const raw = execFileSync(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    input: video,
    maxBuffer: 256 << 20,
  });
  const frameBytes = width * height * 3;
  return Array.from({ length: raw.length / frameBytes }, (_, i) => raw.subarray(i * frameBytes, (i + 1) * frameBytes));
}

/** The centroid of the pixels whose channel `channel` stands out (≥ 160) from the dark background. */
export function centroid(rgb: Uint8Array, width: number, channel: 0 | 1 | 2): { x: number; y: number; pixels: number } {
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let i = 0; i < rgb.length / 3; i++) {
    if (rgb[i * 3 + channel]! < 160) continue;
    sx += i % width;
    sy += Math.floor(i / width);
    n++;
  }
  return { x: sx / n, y: sy / n, pixels: n };
}
