import { execFileSync } from 'node:child_process';

/** This test process's ffmpeg children (ps lines: pid, nice value, command), now. */
export function ffmpegChildren(): string[] {
  const out = execFileSync('ps', ['-o', 'pid=,ni=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' }).trim();
  return out ? out.split('\n').filter((line) => /ffmpeg/.test(line)) : [];
}

/** ffmpeg children still there once a killed one has had up to two seconds to be reaped. */
export async function ffmpegLeft(): Promise<string[]> {
  for (let i = 0; i < 40 && ffmpegChildren().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  return ffmpegChildren();
}
