import { spawnSync } from 'node:child_process';
import t from 'tap';
import { fakeFfmpeg, ffmpegChildren, ffmpegLeft } from '../helpers/ffmpeg-children.js';
import { chooseEncoders, isFfmpegUnavailable, locateFfmpeg, prepareVideoEncoding } from '../../src/media/ffmpeg-binary.js';
import { encodeVideo, ffmpegArguments, VideoEncodingError } from '../../src/media/video-encoder.js';
import { isWebm, mp4TopLevelBoxes, webmDuration } from './containers.js';

const located = await locateFfmpeg();
if (isFfmpegUnavailable(located)) throw new Error(located.error);
const ffmpegPath = located.path;
const encoders = chooseEncoders(located);

/** `count` frames of a white square sliding right over black. */
async function* slidingSquare(width: number, height: number, count: number): AsyncGenerator<Uint8Array> {
  for (let f = 0; f < count; f++) {
    const rgb = new Uint8Array(width * height * 3);
    for (let y = 2; y < 8 && y < height; y++) {
      for (let x = f * 2; x < f * 2 + 6 && x < width; x++) rgb.fill(255, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
    yield rgb;
  }
}

t.test('the bundled ffmpeg is found with a working x264 and VP9 encoder', async (t) => {
  t.match(located, { version: /\S/, encoders: { libx264: true, 'libvpx-vp9': true } });
  t.equal(encoders.mp4, located.encoders.h264_nvenc ? 'h264_nvenc' : 'libx264');
});

t.test('a forced encoder replaces the automatic choice for its container', async (t) => {
  t.same(chooseEncoders({ ...located, encoders: { ...located.encoders, h264_nvenc: true }, codecs: { ...located.codecs, h264_nvenc: 'h264' } }, 'libx264').mp4, 'libx264');
  t.throws(() => chooseEncoders(located, 'no_such_encoder'), /--video-encoder no_such_encoder/);
});

t.test('ffmpeg runs at the nice value it is given', async (t) => {
  let seen: string[] = [];
  async function* framesThatLook(): AsyncGenerator<Uint8Array> {
    const frames = slidingSquare(16, 16, 3);
    for await (const frame of frames) {
      yield frame;
      // ffmpeg is running while it waits for the next frame
      seen = ffmpegChildren();
    }
  }
  await encodeVideo({ ffmpegPath, width: 16, height: 16, fps: 8, format: 'mp4', encoder: encoders.mp4!, frames: framesThatLook(), frameCount: 3, nice: 7 });
  t.equal(seen.length, 1, seen.join('; '));
  t.equal(seen[0]!.trim().split(/\s+/)[1], '7');
});

t.test('an mp4 is H.264 with the moov box before any mdat', async (t) => {
  const frames: number[] = [];
  const video = await encodeVideo({
    ffmpegPath, width: 32, height: 16, fps: 8, format: 'mp4', encoder: encoders.mp4!,
    frames: slidingSquare(32, 16, 6), frameCount: 6,
    onFrame: (n) => frames.push(n),
  });
  const boxes = mp4TopLevelBoxes(video);
  t.equal(boxes[0], 'ftyp');
  t.ok(boxes.includes('mdat'), 'has media data');
  t.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'), `moov before mdat in ${boxes.join(',')}`);
  t.ok(video.includes(Buffer.from('avc1')), 'H.264 sample entry');
  t.same(frames, [1, 2, 3, 4, 5, 6]);
});

t.test('a webm starts with an EBML header of DocType webm and holds VP9', async (t) => {
  const video = await encodeVideo({
    ffmpegPath, width: 32, height: 16, fps: 12, format: 'webm', encoder: encoders.webm!,
    frames: slidingSquare(32, 16, 4), frameCount: 4,
  });
  t.ok(isWebm(video));
  t.ok(video.includes(Buffer.from('V_VP9')), 'VP9 codec id');
});

t.test('the frame rate goes to ffmpeg as a fraction, never in exponent notation', async (t) => {
  const rate = (fps: number): string | undefined => {
    const { input } = ffmpegArguments({ width: 32, height: 16, fps, format: 'mp4', encoder: 'libx264', frameCount: 4 });
    return input[input.indexOf('-framerate') + 1];
  };
  t.equal(rate(7.5), '15/2');
  t.equal(rate(8), '8/1');
  t.equal(rate(29.97), '2997/100');
  t.equal(rate(30000 / 1001), '30000/1001', 'NTSC exactly');
  t.match(rate(1e-7), /^\d+\/\d+$/);
});

t.test('a fractional fps encodes at that rate', async (t) => {
  const video = await encodeVideo({
    ffmpegPath, width: 32, height: 16, fps: 7.5, format: 'mp4', encoder: encoders.mp4!,
    frames: slidingSquare(32, 16, 4), frameCount: 4,
  });
  const probe = spawnSync(ffmpegPath, ['-hide_banner', '-i', 'pipe:0', '-f', 'null', '-'], { input: video, encoding: 'utf8' });
  t.match(probe.stderr, /Video: h264.*, 7\.50 fps/);
});

t.test('a webm written to the pipe carries its duration, and every frame', async (t) => {
  for (const [fps, count] of [[8, 16], [7.5, 7], [10 / 3, 10]] as const) {
    const video = await encodeVideo({
      ffmpegPath, width: 32, height: 16, fps, format: 'webm', encoder: encoders.webm!,
      frames: slidingSquare(32, 16, count), frameCount: count,
    });
    const expected = (count / fps) * 1000;
    const duration = webmDuration(video);
    t.ok(duration !== null && Math.abs(duration - expected) <= 1, `${count} frames at ${fps.toFixed(2)} fps last ${expected.toFixed(1)} ms; Duration: ${duration}`);
    const raw = spawnSync(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { input: video });
    t.equal(raw.stdout.length / (32 * 16 * 3), count, 'no frame cut by the duration');
  }
});

t.test('odd sizes encode to both containers', async (t) => {
  for (const format of ['mp4', 'webm'] as const) {
    const video = await encodeVideo({
      ffmpegPath, width: 33, height: 17, fps: 8, format, encoder: encoders[format]!,
      frames: slidingSquare(33, 17, 3), frameCount: 3,
    });
    t.ok(video.length > 100, `${format}: ${video.length} bytes`);
  }
});

t.test('a frame of the wrong size rejects without a hang', async (t) => {
  async function* wrong(): AsyncGenerator<Uint8Array> {
    yield new Uint8Array(10);
  }
  await t.rejects(encodeVideo({ ffmpegPath, width: 32, height: 16, fps: 8, format: 'mp4', encoder: encoders.mp4!, frames: wrong(), frameCount: 1 }), /not 1536/);
  t.same(await ffmpegLeft(), []);
});

t.test('cancel kills ffmpeg and stops pulling frames', async (t) => {
  const controller = new AbortController();
  let pulled = 0;
  let stopped = false;
  async function* endless(): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        pulled++;
        if (pulled === 3) setImmediate(() => controller.abort());
        yield new Uint8Array(32 * 16 * 3);
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      stopped = true;
    }
  }
  const running = encodeVideo({ ffmpegPath, width: 32, height: 16, fps: 8, format: 'mp4', encoder: encoders.mp4!, frames: endless(), frameCount: 1000, signal: controller.signal });
  await t.rejects(running, { name: 'AbortError' });
  t.same(await ffmpegLeft(), [], 'no ffmpeg left running');
  t.ok(stopped, 'the frame source was closed');
});

t.test('an ffmpeg that crashes gives a clear error', async (t) => {
  const crashing = fakeFfmpeg(t, 'echo "simulated failure" >&2\nexit 1');
  const error = await encodeVideo({
    ffmpegPath: crashing, width: 32, height: 16, fps: 8, format: 'mp4', encoder: 'libx264', frames: slidingSquare(32, 16, 2), frameCount: 2,
  }).then(() => null, (e: unknown) => e);
  t.type(error, VideoEncodingError);
  t.match((error as Error).message, /^ffmpeg exited with code 1 while encoding mp4 with libx264$/);
});

t.test('INFERNODE_FFMPEG pointing to a broken binary is reported, not replaced', async (t) => {
  const found = await locateFfmpeg({ env: { INFERNODE_FFMPEG: '/nonexistent/ffmpeg', PATH: '' } });
  t.ok(isFfmpegUnavailable(found));
  t.match(found, { error: /INFERNODE_FFMPEG/ });
});

t.test('a forced encoder this ffmpeg cannot use makes video encoding unavailable, with the reason', async (t) => {
  const prepared = await prepareVideoEncoding('no_such_encoder');
  t.match(prepared, { error: /--video-encoder no_such_encoder/ });
});

t.test('no ffmpeg at all makes video encoding unavailable, with the reason', async (t) => {
  const prepared = await prepareVideoEncoding('auto', { INFERNODE_FFMPEG: '/nonexistent/ffmpeg' });
  t.match(prepared, { error: /does not run/ });
});

t.test('a binary that exits 0 but is not ffmpeg makes video encoding unavailable, as a missing one does', async (t) => {
  for (const path of ['/bin/true', '/bin/echo']) {
    const prepared = await prepareVideoEncoding('auto', { INFERNODE_FFMPEG: path });
    t.match(prepared, { error: new RegExp(`^ffmpeg at ${path} \\(from INFERNODE_FFMPEG\\) is not ffmpeg`) }, path);
  }
});

t.test('an ffmpeg with no working encoder for either container makes video encoding unavailable', async (t) => {
  // lists x264 and VP9, then fails every test encode
  const encoderless = fakeFfmpeg(t, [
    'case "$*" in',
    '  *-version*) echo "ffmpeg version 9.9-fake";;',
    '  *-encoders*) echo " V..... libx264  libx264 H.264 (codec h264)"; echo " V..... libvpx-vp9  libvpx VP9 (codec vp9)";;',
    '  *) exit 1;;',
    'esac',
  ].join('\n'));
  const prepared = await prepareVideoEncoding('auto', { INFERNODE_FFMPEG: encoderless });
  t.match(prepared, { error: /has no working H\.264 or VP9 encoder/ });
});
