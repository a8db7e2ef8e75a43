import { spawn } from 'node:child_process';

/**
 * The baseline for the encoding stage: spawn ffmpeg with `args` (input and output options, without the
 * `-i pipe:0`/`pipe:1` ends), write every frame to its stdin honouring backpressure, count stdout's bytes.
 */
export function bareFfmpeg(path: string, args: { input: string[]; output: string[] }, frames: readonly Uint8Array[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const argv = ['-hide_banner', '-loglevel', 'error', ...args.input, '-i', 'pipe:0', ...args.output, 'pipe:1'];
    const child = spawn(path, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
    let bytes = 0;
    child.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(bytes) : reject(new Error(`ffmpeg exited with ${code}`))));
    void (async () => {
      for (const frame of frames) if (!child.stdin.write(frame)) await new Promise((r) => child.stdin.once('drain', r));
      child.stdin.end();
    })();
  });
}
