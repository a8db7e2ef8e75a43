// Encoding stage: infernode's encodeVideo (fluent-ffmpeg, frames from an async iterable, output collected in
// memory) against ffmpeg fed the same raw frames by a bare script with the same arguments.
// Usage: node dist/bench/media-encode.js [frames=64] [size=256] [runs=5]
import { performance } from 'node:perf_hooks';
import { chooseEncoders, isFfmpegUnavailable, locateFfmpeg, type VideoContainer } from '../src/media/ffmpeg-binary.js';
import { encodeVideo, ffmpegArguments } from '../src/media/video-encoder.js';
import { median } from './lib/measure.js';
import { bareFfmpeg } from './lib/bare-ffmpeg.js';

const [frameCount = 64, size = 256, runs = 5] = process.argv.slice(2).map(Number);
const fps = 8;

/** Frames with motion and texture, so the encoders do real work. */
function makeFrames(count: number, width: number, height: number): Uint8Array[] {
  return Array.from({ length: count }, (_, f) => {
    const rgb = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const o = (y * width + x) * 3;
        rgb[o] = (x + f * 4) & 255;
        rgb[o + 1] = (y * 2 + f) & 255;
        rgb[o + 2] = ((x ^ y) + f * 8) & 255;
      }
    }
    return rgb;
  });
}

async function* iterate(frames: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* frames;
}

const located = await locateFfmpeg();
if (isFfmpegUnavailable(located)) throw new Error(located.error);
const encoders = chooseEncoders(located);
const frames = makeFrames(frameCount, size, size);
console.log(`ffmpeg ${located.version} (${located.source}); ${frameCount} frames ${size}x${size} at ${fps} fps; ${runs} runs each, alternating`);

for (const format of ['mp4', 'webm'] as VideoContainer[]) {
  const encoder = encoders[format]!;
  const settings = { width: size, height: size, fps, format, encoder, frameCount };
  const args = ffmpegArguments(settings);
  const ours: number[] = [];
  const bare: number[] = [];
  for (let run = 0; run < runs; run++) {
    let started = performance.now();
    await bareFfmpeg(located.path, args, frames);
    bare.push(performance.now() - started);
    started = performance.now();
    await encodeVideo({ ffmpegPath: located.path, ...settings, frames: iterate(frames) });
    ours.push(performance.now() - started);
  }
  const oursFps = frameCount / (median(ours) / 1000);
  const bareFps = frameCount / (median(bare) / 1000);
  console.log(
    `${format} ${encoder}: infernode ${oursFps.toFixed(1)} frames/s (median ${median(ours).toFixed(0)} ms), ` +
      `bare ffmpeg ${bareFps.toFixed(1)} frames/s (median ${median(bare).toFixed(0)} ms), ratio ${(oursFps / bareFps).toFixed(3)}`,
  );
}
