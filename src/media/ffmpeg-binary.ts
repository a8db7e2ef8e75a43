import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';

/** Where the binary was found, in the order DEVELOPERS.md gives. */
export type FfmpegSource = 'INFERNODE_FFMPEG' | 'PATH' | '@ffmpeg-installer/ffmpeg';

/** The encoders infernode may pick on its own: NVENC on a GPU host, else x264; VP9 for webm. */
export const PROBED_ENCODERS = ['h264_nvenc', 'libx264', 'libvpx-vp9'] as const;

export interface FfmpegInfo {
  path: string;
  source: FfmpegSource;
  /** as ffmpeg prints it, e.g. "6.1.1" or "N-47683-g0e8eb07980-static" */
  version: string;
  /** each probed encoder: whether a one-frame test encode with it succeeded (NVENC fails without a GPU) */
  encoders: Record<string, boolean>;
  /** the codec each probed encoder writes (h264, vp9, ...) */
  codecs: Record<string, string>;
}

export interface FfmpegUnavailable {
  error: string;
}

export type FfmpegLocation = FfmpegInfo | FfmpegUnavailable;

export const isFfmpegUnavailable = <T extends object>(location: T | FfmpegUnavailable): location is FfmpegUnavailable =>
  'error' in location;

const PROBE_TIMEOUT_MS = 15_000;

function run(path: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path, args, { timeout: PROBE_TIMEOUT_MS, maxBuffer: 4 << 20, windowsHide: true }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
  });
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

async function findOnPath(env: NodeJS.ProcessEnv): Promise<string | null> {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'ffmpeg');
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

function installerBinary(): string | null {
  try {
    // a CommonJS package that throws (a string) when its platform binary is missing
    return (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch {
    return null;
  }
}

async function findBinary(env: NodeJS.ProcessEnv): Promise<{ path: string; source: FfmpegSource } | FfmpegUnavailable> {
  // An explicit choice is never silently replaced by another binary.
  const forced = env.INFERNODE_FFMPEG;
  if (forced) return { path: forced, source: 'INFERNODE_FFMPEG' };
  const onPath = await findOnPath(env);
  if (onPath) return { path: onPath, source: 'PATH' };
  const bundled = installerBinary();
  if (bundled) return { path: bundled, source: '@ffmpeg-installer/ffmpeg' };
  return { error: 'no ffmpeg found: set INFERNODE_FFMPEG, put ffmpeg on PATH, or install @ffmpeg-installer/ffmpeg' };
}

/** `-encoders` lines look like " V..... libx264   libx264 H.264 / AVC ... (codec h264)". */
function listVideoEncoders(listing: string): Map<string, string> {
  const encoders = new Map<string, string>();
  for (const line of listing.split('\n')) {
    const match = /^\s*V\S{5}\s+(\S+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const [, name, description] = match as unknown as [string, string, string];
    encoders.set(name, /\(codec (\S+)\)\s*$/.exec(description)?.[1] ?? name);
  }
  return encoders;
}

/** One tiny frame through the encoder: NVENC is listed by GPU builds even where no GPU answers. */
async function encodes(path: string, encoder: string): Promise<boolean> {
  const args = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=gray:s=256x256:r=1', '-frames:v', '1'];
  return run(path, [...args, '-pix_fmt', 'yuv420p', '-c:v', encoder, '-f', 'null', '-']).then(
    () => true,
    () => false,
  );
}

/**
 * Finds ffmpeg (INFERNODE_FFMPEG, else `ffmpeg` on PATH, else @ffmpeg-installer/ffmpeg's binary), reads its
 * version and tries each encoder infernode may use, plus `extraEncoder` (a forced `--video-encoder`).
 */
export async function locateFfmpeg(options: { extraEncoder?: string; env?: NodeJS.ProcessEnv } = {}): Promise<FfmpegLocation> {
  const found = await findBinary(options.env ?? process.env);
  if (isFfmpegUnavailable(found)) return found;
  let version: string | undefined;
  let listed: Map<string, string>;
  try {
    const banner = await run(found.path, ['-hide_banner', '-version']);
    version = /^ffmpeg version (\S+)/m.exec(banner)?.[1];
    listed = listVideoEncoders(await run(found.path, ['-hide_banner', '-encoders']));
  } catch {
    return { error: `ffmpeg at ${found.path} (from ${found.source}) does not run` };
  }
  // a binary that exits 0 to anything (/bin/true, /bin/echo) is not ffmpeg, however well it runs
  if (version === undefined) return { error: `ffmpeg at ${found.path} (from ${found.source}) is not ffmpeg: -version prints no "ffmpeg version"` };
  const wanted = [...new Set<string>([...PROBED_ENCODERS, ...(options.extraEncoder ? [options.extraEncoder] : [])])];
  const encoders: Record<string, boolean> = {};
  const codecs: Record<string, string> = {};
  await Promise.all(
    wanted.map(async (name) => {
      const codec = listed.get(name);
      encoders[name] = codec !== undefined && (await encodes(found.path, name));
      if (codec) codecs[name] = codec;
    }),
  );
  return { ...found, version, encoders, codecs };
}

export type VideoContainer = 'mp4' | 'webm';

const CONTAINER_CODEC: Record<VideoContainer, string> = { mp4: 'h264', webm: 'vp9' };

/**
 * The encoder for each container: a forced encoder (`--video-encoder`) for the container of its codec,
 * else NVENC when it works, else x264; VP9 for webm. Throws a message fit for the start-up log when the
 * forced encoder is unusable.
 */
export function chooseEncoders(info: FfmpegInfo, forced = 'auto'): Record<VideoContainer, string | null> {
  const usable = (name: string): boolean => info.encoders[name] === true;
  const choice: Record<VideoContainer, string | null> = {
    mp4: usable('h264_nvenc') ? 'h264_nvenc' : usable('libx264') ? 'libx264' : null,
    webm: usable('libvpx-vp9') ? 'libvpx-vp9' : null,
  };
  if (forced === 'auto') return choice;
  const codec = info.codecs[forced];
  const container = (Object.keys(CONTAINER_CODEC) as VideoContainer[]).find((c) => CONTAINER_CODEC[c] === codec);
  if (!container || !usable(forced)) {
    throw new Error(`--video-encoder ${forced}: this ffmpeg cannot encode H.264 or VP9 with it`);
  }
  return { ...choice, [container]: forced };
}

/** What video jobs need of ffmpeg: the binary and the encoder for each container. */
export interface VideoEncoding {
  ffmpeg: FfmpegInfo;
  encoders: Record<VideoContainer, string | null>;
}

/**
 * Finds ffmpeg and settles the encoders once, at start. `forcedEncoder` is `--video-encoder`. The error
 * (no ffmpeg, a binary that is not ffmpeg, no encoder for either container, or a forced encoder that does
 * not encode) is a line for the start-up log; video jobs then fail with it while the other job types keep
 * working.
 */
export async function prepareVideoEncoding(forcedEncoder = 'auto', env: NodeJS.ProcessEnv = process.env): Promise<VideoEncoding | FfmpegUnavailable> {
  const ffmpeg = await locateFfmpeg({ env, ...(forcedEncoder === 'auto' ? {} : { extraEncoder: forcedEncoder }) });
  if (isFfmpegUnavailable(ffmpeg)) return ffmpeg;
  let encoders: VideoEncoding['encoders'];
  try {
    encoders = chooseEncoders(ffmpeg, forcedEncoder);
  } catch (error) {
    return { error: (error as Error).message };
  }
  if (!encoders.mp4 && !encoders.webm) return { error: `ffmpeg at ${ffmpeg.path} (from ${ffmpeg.source}) has no working H.264 or VP9 encoder` };
  return { ffmpeg, encoders };
}
