import { loadLabel, type LoadLevel } from './options.js';

const BAR_WIDTH = 24;

/** Where text goes: process.stdout/stderr, or a buffer in tests. */
export interface TextSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** A one-line progress bar redrawn in place; it writes nothing when the stream is not a terminal. */
export class ProgressBar {
  private label = '';
  private pointStartMs = 0;
  private done = 0;
  private failed = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly stream: TextSink,
    private readonly points: number,
    private readonly requests: number | null,
    private readonly durationS: number | null,
  ) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  startPoint(index: number, load: LoadLevel): void {
    if (!this.enabled) return;
    this.label = `${loadLabel(load)} (${index + 1}/${this.points})`;
    this.pointStartMs = Date.now();
    this.done = 0;
    this.failed = 0;
    this.timer ??= setInterval(() => this.draw(), 100);
    this.draw();
  }

  record(failed: boolean): void {
    this.done++;
    if (failed) this.failed++;
  }

  finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.enabled) this.stream.write('\r\x1b[2K');
  }

  private fraction(): number {
    const elapsedS = (Date.now() - this.pointStartMs) / 1000;
    const byRequests = this.requests === null ? 0 : this.done / this.requests;
    const byTime = this.durationS === null ? 0 : elapsedS / this.durationS;
    return Math.min(1, Math.max(byRequests, byTime));
  }

  private draw(): void {
    const filled = Math.round(this.fraction() * BAR_WIDTH);
    const bar = '#'.repeat(filled) + '.'.repeat(BAR_WIDTH - filled);
    const elapsedS = ((Date.now() - this.pointStartMs) / 1000).toFixed(1);
    this.stream.write(`\r\x1b[2K[${bar}] ${this.label} ${this.done} done, ${this.failed} failed, ${elapsedS}s`);
  }
}
