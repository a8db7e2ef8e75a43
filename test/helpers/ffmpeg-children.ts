import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

/** An executable shell script named ffmpeg in a temporary directory, removed at `t`'s teardown: a stand-in ffmpeg. */
export function fakeFfmpeg(t: { teardown(fn: () => void): void }, script: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'infernode-fake-ffmpeg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'ffmpeg');
  writeFileSync(file, `#!/bin/sh\n${script}\n`);
  chmodSync(file, 0o755);
  return file;
}
