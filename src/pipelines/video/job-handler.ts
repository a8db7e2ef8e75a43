import { isFfmpegUnavailable, type FfmpegUnavailable, type VideoEncoding } from '../../media/ffmpeg-binary.js';
import { encodeVideo, VideoEncodingError } from '../../media/video-encoder.js';
import { secureZero } from '../../native/secure-memory.js';
import { PipelineError } from '../executor-types.js';
import type { JobContext, JobHandler } from '../job-handler.js';
import type { VideoDecodePayload, VideoDecodeResult, VideoDenoisePayload, VideoDenoiseResult } from './protocol.js';
import { admitInitImage, readInitRgb } from '../diffusion/init-image.js';
import { parseVideoInput, type VideoInput } from './video-input.js';

const CODEC_OF: Record<VideoInput['format'], string> = { mp4: 'h264', webm: 'vp9' };
const CONTENT_TYPE: Record<VideoInput['format'], string> = { mp4: 'video/mp4', webm: 'video/webm' };

/** The init image as planar RGB at the video's size: decoded and sealed at admission. */
async function initPlanar(input: VideoInput, ctx: JobContext): Promise<VideoDenoisePayload['init']> {
  if (!input.init) return null;
  const rgb = await readInitRgb(ctx);
  const planar = await ctx.media.rgbToPlanar(rgb, input.width, input.height, ctx.signal);
  secureZero(rgb);
  return { planar, strength: input.init.strength };
}

interface FrameState {
  /** the executor run in flight (denoise, then each decode), so that a failed job ends after it */
  inFlight: Promise<unknown>;
  latents: Float32Array | null;
  first: Uint8Array | null;
}

/**
 * Waits for the latents, then decodes the frames one at a time in the executor and turns them into RGB in
 * the media pool as ffmpeg asks for them. The executor decodes frame n+1 while the pool converts frame n and
 * ffmpeg encodes frame n−1; only those few frames of pixels are ever held.
 */
async function* framesOf(denoised: Promise<VideoDenoiseResult>, input: VideoInput, ctx: JobContext, state: FrameState): AsyncGenerator<Uint8Array> {
  const latents = (state.latents = (await denoised).latents);
  const frameLength = latents.length / input.frames;
  const decode = (f: number): Promise<VideoDecodeResult> => {
    const frameLatents = latents.slice(f * frameLength, (f + 1) * frameLength);
    const payload: VideoDecodePayload = { op: 'decode', latents: frameLatents, width: input.width, height: input.height };
    const decoding = ctx.execute<VideoDecodeResult>(payload, [frameLatents.buffer]);
    state.inFlight = decoding.catch(() => undefined);
    return decoding;
  };
  let next = decode(0);
  for (let f = 0; f < input.frames; f++) {
    const { planar } = await next;
    if (f + 1 < input.frames) next = decode(f + 1);
    const rgb = await ctx.media.planarToRgb(planar, input.width, input.height, ctx.signal);
    if (f === 0) state.first = rgb;
    yield rgb;
  }
}

async function runVideo(input: VideoInput, ctx: JobContext, encoding: VideoEncoding | FfmpegUnavailable, nice: number): Promise<null> {
  if (isFfmpegUnavailable(encoding)) throw new PipelineError('video_encoding_unavailable', `video encoding is unavailable on this node: ${encoding.error}`);
  const encoder = encoding.encoders[input.format];
  if (!encoder) throw new PipelineError('video_encoding_unavailable', `this node's ffmpeg has no working encoder for ${input.format}`);
  ctx.reportSeed(input.seed);

  const init = await initPlanar(input, ctx);
  const denoise: VideoDenoisePayload = {
    op: 'denoise',
    prompt: input.prompt,
    negativePrompt: input.negativePrompt,
    width: input.width,
    height: input.height,
    frames: input.frames,
    steps: input.steps,
    guidanceScale: input.guidanceScale,
    seed: input.seed,
    scheduler: input.scheduler,
    init,
  };
  const denoised = ctx.execute<VideoDenoiseResult>(denoise, init ? [init.planar.buffer as ArrayBuffer] : []);
  const state: FrameState = { inFlight: denoised.catch(() => undefined), latents: null, first: null };
  let video: Buffer;
  try {
    // ffmpeg starts while the executor denoises, so its start-up is hidden behind the sampling
    video = await encodeVideo({
      ffmpegPath: encoding.ffmpeg.path,
      nice,
      width: input.width,
      height: input.height,
      fps: input.fps,
      format: input.format,
      encoder,
      frames: framesOf(denoised, input, ctx, state),
      frameCount: input.frames,
      signal: ctx.signal,
      onFrame: (n) => ctx.emit({ event: 'progress', data: { step: n, total: input.frames, stage: 'encode' } }),
    });
  } catch (error) {
    await state.inFlight;
    if (error instanceof VideoEncodingError) throw new PipelineError('video_encoding_failed', error.message, { detail: error.detail });
    throw error;
  } finally {
    if (state.latents) secureZero(new Uint8Array(state.latents.buffer));
  }
  ctx.recordFramesEncoded(CODEC_OF[input.format], input.frames);
  const poster = await ctx.media.encodeImage(state.first!, input.width, input.height, 'png', undefined, ctx.signal);
  secureZero(state.first!);
  try {
    await ctx.writeOutput(`video.${input.format}`, CONTENT_TYPE[input.format], video);
    await ctx.writeOutput('poster.png', 'image/png', poster);
  } finally {
    secureZero(video);
    secureZero(poster);
  }
  return null;
}

/**
 * The video job type. `encoding` is settled once at start (prepareVideoEncoding with `--video-encoder`);
 * when it says ffmpeg is unusable, video jobs fail with that reason and the other types are unaffected.
 */
export function createVideoJobHandler(encoding: () => Promise<VideoEncoding | FfmpegUnavailable>, ffmpegNice = 0): JobHandler<VideoInput> {
  return {
    type: 'video',
    parse: parseVideoInput,
    async admit(input, ctx) {
      return input.init ? { ...input, init: await admitInitImage(input.init, { width: input.width, height: input.height }, ctx) } : input;
    },
    async run(input, ctx) {
      return runVideo(input, ctx, await encoding(), ffmpegNice);
    },
  };
}
