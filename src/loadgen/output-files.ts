import { constants } from 'node:fs';
import { access, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BenchUsageError, type RunOptions } from './options.js';
import type { TextSink } from './progress-bar.js';
import { renderCsv } from './report-csv.js';
import { renderHtml, renderSvg } from './report-plot.js';
import type { BenchResult } from './sweep.js';

interface OutputFile {
  flag: 'json' | 'csv' | 'plot';
  path: string;
  render(result: BenchResult): string;
}

/** The --json, --csv and --plot files the run asked for. */
export function outputFiles(options: RunOptions): OutputFile[] {
  const files: [OutputFile['flag'], string | null, OutputFile['render']][] = [
    ['json', options.jsonFile, (result) => `${JSON.stringify(result, null, 2)}\n`],
    ['csv', options.csvFile, renderCsv],
    ['plot', options.plotFile, /\.html?$/i.test(options.plotFile ?? '') ? renderHtml : renderSvg],
  ];
  return files.flatMap(([flag, path, render]) => (path === null ? [] : [{ flag, path, render }]));
}

const cannotWrite = (file: OutputFile, code: string): BenchUsageError => new BenchUsageError(`--${file.flag}: cannot write ${file.path} (${code})`);

const errorCode = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? 'error';

/** Why `path` cannot be written now (an errno code), or null: an existing file must be writable, a new one creatable in its folder. */
async function unwritable(path: string): Promise<string | null> {
  const existing = await stat(path).catch(() => null);
  if (existing?.isDirectory()) return 'EISDIR';
  try {
    await (existing === null ? access(dirname(path), constants.W_OK | constants.X_OK) : access(path, constants.W_OK));
    return null;
  } catch (err) {
    return errorCode(err);
  }
}

/** Checked before the sweep, so that a mistyped folder is found in a second and not after minutes of load. */
export async function checkOutputFiles(files: readonly OutputFile[]): Promise<void> {
  for (const file of files) {
    const code = await unwritable(file.path);
    if (code !== null) throw cannotWrite(file, code);
  }
}

export async function writeOutputFiles(files: readonly OutputFile[], result: BenchResult, stderr: TextSink): Promise<void> {
  for (const file of files) {
    try {
      await writeFile(file.path, file.render(result));
    } catch (err) {
      throw cannotWrite(file, errorCode(err));
    }
    stderr.write(`wrote ${file.path}\n`);
  }
}
