import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { KeyPool } from './key-pool.js';
import { isClaimFile } from './scratch-claim.js';
import { pooledFiles, type ScratchFiles } from './scratch-files.js';
import { Vault } from './vault.js';

export type ErasureReason = 'finished' | 'expired' | 'deleted' | 'startup_sweep' | 'shutdown';

/** what forJob names a job's directory: its job id */
const JOB_DIR = /^job_[0-9A-Za-z]+$/;

export interface ScratchObserver {
  usage(totalBytes: number): void;
  erased(reason: ErasureReason): void;
  eraseFailed(err: unknown): void;
  /** key memory could not be locked (reported once) */
  lockRefused?(reason: string): void;
}

/**
 * One job's scratch: an input vault, erased when the job ends, and an output vault, erased at the outputs'
 * TTL or on DELETE. Separate keys, so erasing inputs is a crypto-erase even while outputs live on.
 */
export class JobScratch {
  readonly inputs: Vault;
  readonly outputs: Vault;
  private removed = false;

  constructor(
    private readonly store: ScratchStore,
    readonly dir: string,
  ) {
    const onUsage = (delta: number): void => store.addUsage(delta);
    this.inputs = new Vault(dir, 'in', onUsage, store.keys, store.files);
    this.outputs = new Vault(dir, 'out', onUsage, store.keys, store.files);
  }

  /** Erases the inputs; with no outputs to keep, the job's directory goes too. */
  async eraseInputs(reason: ErasureReason): Promise<void> {
    await this.store.guard(reason, () => this.inputs.erase());
    if (this.outputs.names().length === 0) await this.removeDir();
  }

  /** Erases everything the job has left (inputs too) and its directory. */
  async eraseAll(reason: ErasureReason): Promise<void> {
    await this.store.guard(reason, async () => {
      const [hadInputs, hadOutputs] = await Promise.all([this.inputs.erase(), this.outputs.erase()]);
      const had = hadInputs || hadOutputs;
      await this.removeDir();
      return had;
    });
    this.store.forget(this);
  }

  private async removeDir(): Promise<void> {
    if (this.removed) return;
    this.removed = true;
    // no directory to remove, and no file-system round trip at the end of every job that wrote nothing
    if (!this.inputs.touchedDisk && !this.outputs.touchedDisk) return;
    await this.store.files.remove(this.dir);
  }
}

export class ScratchStore {
  private totalBytes = 0;
  private readonly live = new Set<JobScratch>();
  /** @internal */ readonly keys: KeyPool;

  /** `files`: memoryFiles where the root is memory-backed (./scratch-files.ts) */
  constructor(
    readonly root: string,
    private readonly observer: ScratchObserver,
    /** @internal */ readonly files: ScratchFiles = pooledFiles,
  ) {
    this.keys = new KeyPool((reason) => observer.lockRefused?.(reason));
  }

  get bytes(): number {
    return this.totalBytes;
  }

  forJob(jobId: string): JobScratch {
    const scratch = new JobScratch(this, path.join(this.root, jobId));
    this.live.add(scratch);
    return scratch;
  }

  /**
   * Erases the job directories a previous process left (a crash, kill -9). Runs once the root is claimed, before
   * the node reports ready. Only job directories: a --scratch-dir pointed at a shared directory (/tmp) must not
   * cost its other files; `left` counts those. `root`: a dead daemon's root this one claimed (./dead-roots.ts).
   */
  async sweep(root = this.root): Promise<{ swept: number; left: number }> {
    let swept = 0;
    const entries = (await readdir(root)).filter((name) => !isClaimFile(name));
    const jobDirs = entries.filter((name) => JOB_DIR.test(name));
    for (const entry of jobDirs) {
      const target = path.join(root, entry);
      try {
        await stat(target);
        await rm(target, { recursive: true, force: true });
        this.observer.erased('startup_sweep');
        swept++;
      } catch (err) {
        this.observer.eraseFailed(err);
      }
    }
    return { swept, left: entries.length - jobDirs.length };
  }

  async eraseEverything(reason: ErasureReason): Promise<void> {
    await Promise.all([...this.live].map((s) => s.eraseAll(reason)));
  }

  /** @internal */ addUsage(delta: number): void {
    this.totalBytes += delta;
    this.observer.usage(this.totalBytes);
  }
  /** @internal */ forget(scratch: JobScratch): void {
    this.live.delete(scratch);
  }
  /** @internal counts an erasure that removed something, and any failure, without throwing */
  async guard(reason: ErasureReason, erase: () => Promise<boolean>): Promise<void> {
    try {
      if (await erase()) this.observer.erased(reason);
    } catch (err) {
      this.observer.eraseFailed(err);
    }
  }
}
