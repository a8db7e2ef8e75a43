/**
 * The one module that drives ffmpeg (through fluent-ffmpeg, archived upstream: keep it behind this file so it
 * can be replaced). Raw RGB frames go to ffmpeg's stdin, the container comes back on its stdout, and nothing
 * of a frame is ever written to disk by us.
 */
import { Readable, Writable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import type { VideoContainer } from './ffmpeg-binary.js';

export interface EncodeVideoOptions {
  ffmpegPath: string;
  /** ffmpeg runs under `nice -n` this (src/runtime/thread-priority.ts); 0 or absent: as the node */
  nice?: number;
  width: number;
  height: number;
  fps: number;
  format: VideoContainer;
  /** an ffmpeg encoder name, as chosen by chooseEncoders */
  encoder: string;
  /** RGB24 frames, width × height × 3 bytes each, produced as ffmpeg asks for them */
  frames: AsyncIterable<Uint8Array>;
  /** how many `frames` yields: the webm muxer writes the clip's duration before the first frame */
  frameCount: number;
  /** kills ffmpeg and stops pulling frames */
  signal?: AbortSignal;
  /** called with the count of frames handed to ffmpeg so far */
  onFrame?(n: number): void;
}

/** ffmpeg failed; the message is safe for clients, `detail` (ffmpeg's last stderr lines) is for the log. */
export class VideoEncodingError extends Error {
  constructor(
    message: string,
    readonly detail: string,
  ) {
    super(message);
    this.name = 'VideoEncodingError';
  }
}

const ENCODER_OPTIONS: Record<string, string[]> = {
  libx264: ['-preset', 'veryfast', '-crf', '20'],
  h264_nvenc: ['-preset', 'fast'],
  'libvpx-vp9': ['-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1', '-crf', '30', '-b:v', '0'],
};

/** NTSC rates are n × 1000/1001, and a rate given to three decimals has a denominator that divides 1000 */
const MAX_RATE_DENOMINATOR = 1001;

interface Rate {
  num: number;
  den: number;
}

/**
 * fps as `num/den`, by continued fractions with a denominator of at most 1001: exact for those rates (7.5 is
 * 15/2), and never in exponent notation, which String(1e-7) is and ffmpeg does not read as a rate.
 */
function frameRate(fps: number): Rate {
  let [num, den, prevNum, prevDen] = [1, 0, 0, 1];
  for (let x = fps; ; x = 1 / (x - Math.floor(x))) {
    const a = Math.floor(x);
    if (a * den + prevDen > MAX_RATE_DENOMINATOR) break;
    [num, den, prevNum, prevDen] = [a * num + prevNum, a * den + prevDen, num, den];
    if (x === a) break;
  }
  return { num, den };
}

/**
 * Both containers go to a pipe, which cannot seek back. mp4 cannot move its index to the front
 * (`+faststart` rewrites a finished file), so it is fragmented: an empty moov first, then moof+mdat pairs.
 * The Matroska muxer fills in webm's Duration by seeking back at the end, unless it knows the recording time
 * up front (`-t`, frames ÷ fps, rounded up to the microsecond so that no frame is cut); its Cues (the seek
 * index) it writes only to a seekable file, so a webm has none (docs/media.md).
 */
function containerOptions(format: VideoContainer, frameCount: number, rate: Rate): string[] {
  if (format === 'mp4') return ['-movflags', 'frag_keyframe+empty_moov+default_base_moof'];
  return ['-t', (Math.ceil((frameCount * rate.den * 1e6) / rate.num) / 1e6).toFixed(6)];
}

/** The whole ffmpeg command line after the binary; the bare-ffmpeg benchmark runs the same one. */
export function ffmpegArguments(o: Pick<EncodeVideoOptions, 'width' | 'height' | 'fps' | 'format' | 'encoder' | 'frameCount'>): {
  input: string[];
  output: string[];
} {
  // yuv420p halves chroma both ways, so odd sizes are padded by one black row or column
  const odd = o.width % 2 === 1 || o.height % 2 === 1;
  const rate = frameRate(o.fps);
  return {
    input: ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${o.width}x${o.height}`, '-framerate', `${rate.num}/${rate.den}`],
    output: [
      ...(odd ? ['-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2'] : []),
      '-c:v',
      o.encoder,
      ...(ENCODER_OPTIONS[o.encoder] ?? []),
      '-pix_fmt',
      'yuv420p',
      '-an',
      ...containerOptions(o.format, o.frameCount, rate),
      '-f',
      o.format,
    ],
  };
}

/** Collects ffmpeg's stdout; emits no 'close', which fluent-ffmpeg would take for a failure. */
class Collector extends Writable {
  readonly chunks: Buffer[] = [];
  constructor() {
    super({ emitClose: false, autoDestroy: false });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk);
    done();
  }
}

const abortError = (): Error => new DOMException('video encoding aborted', 'AbortError');

/** Encodes RGB24 frames to an mp4 (H.264) or webm (VP9) held in memory. */
export function encodeVideo(options: EncodeVideoOptions): Promise<Buffer> {
  const { signal, onFrame } = options;
  if (signal?.aborted) return Promise.reject(abortError());
  const frameBytes = options.width * options.height * 3;
  let handed = 0;
  const input = Readable.from(
    (async function* () {
      for await (const frame of options.frames) {
        if (frame.byteLength !== frameBytes) throw new Error(`a frame has ${frame.byteLength} bytes, not ${frameBytes}`);
        yield frame;
        onFrame?.(++handed);
      }
    })(),
    // one frame ahead: backpressure keeps memory at a frame or two, and progress close to what ffmpeg has
    { objectMode: true, highWaterMark: 1 },
  );
  const output = new Collector();
  const args = ffmpegArguments(options);
  const command = ffmpeg({ stdoutLines: 20, niceness: options.nice ?? 0 })
    .setFfmpegPath(options.ffmpegPath)
    .input(input)
    .inputOptions(...args.input)
    .outputOptions(...args.output);

  const failure = (why: string, stderr: unknown): VideoEncodingError => {
    const detail = typeof stderr === 'string' ? stderr.trim().split('\n').slice(-5).join('\n') : '';
    return new VideoEncodingError(`ffmpeg ${why} while encoding ${options.format} with ${options.encoder}`, detail);
  };

  return new Promise<Buffer>((resolve, reject) => {
    let exited = false;
    let flushed = false;
    let settled = false;
    let stderrAtExit: unknown;
    // an ffmpeg that exits 0 having written nothing (a broken build, a stand-in binary) made no video
    const finish = (): void => settle(output.chunks.some((chunk) => chunk.length > 0) ? null : failure('wrote no video', stderrAtExit));
    const settle = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (error) {
        command.kill('SIGKILL');
        input.destroy();
        output.chunks.length = 0;
        reject(error);
      } else resolve(Buffer.concat(output.chunks));
    };
    const onAbort = (): void => settle(abortError());
    // a failure or cancel that comes before ffmpeg is spawned (fluent-ffmpeg checks capabilities first)
    command.on('start', () => {
      if (settled) command.kill('SIGKILL');
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    // success needs both: ffmpeg's exit and the end of its stdout, which can arrive in either order
    output.on('finish', () => {
      flushed = true;
      if (exited) finish();
    });
    command.on('end', (_stdout: unknown, stderr: unknown) => {
      exited = true;
      stderrAtExit = stderr;
      if (flushed) finish();
    });
    command.on('error', (error: Error & { inputStreamError?: Error }, _stdout: unknown, stderr: unknown) => {
      if (error.inputStreamError) return settle(error.inputStreamError);
      settle(failure(/exited with code \d+|killed with signal \w+/.exec(error.message)?.[0] ?? 'could not run', stderr));
    });
    command.pipe(output, { end: true });
  });
}
