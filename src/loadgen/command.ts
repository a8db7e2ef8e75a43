import { BenchUsageError, type RunOptions, USAGE, parseBenchArgs } from './options.js';
import { checkOutputFiles, outputFiles, writeOutputFiles } from './output-files.js';
import { ProgressBar, type TextSink } from './progress-bar.js';
import { readBenchResult, renderComparison } from './report-compare.js';
import { renderTable } from './report-table.js';
import { type BenchResult, runSweep } from './sweep.js';

export interface BenchIo {
  stdout: TextSink;
  stderr: TextSink;
}

async function run(options: RunOptions, io: BenchIo): Promise<number> {
  const outputs = outputFiles(options);
  await checkOutputFiles(outputs);
  const progress = new ProgressBar(io.stderr, options.loads.length, options.requests, options.durationS);
  const stop = new AbortController();
  // The first Ctrl-C stops issuing and reports what was measured; with the listener gone, a second one quits.
  const onInterrupt = (): void => {
    progress.finish();
    io.stderr.write('stopping: waiting for the requests in flight (Ctrl-C again to quit)\n');
    stop.abort();
  };
  process.once('SIGINT', onInterrupt);
  let result: BenchResult;
  try {
    result = await runSweep(options, {
      onPointStart: (index, load) => progress.startPoint(index, load),
      onRecord: (record) => progress.record(record.error !== null),
    }, stop.signal);
  } finally {
    process.off('SIGINT', onInterrupt);
    progress.finish();
  }
  io.stdout.write(`${renderTable(result)}\n`);
  await writeOutputFiles(outputs, result, io.stderr);
  if (result.interrupted) return 130;
  // A point where nothing succeeded measured nothing: scripts should notice.
  return result.points.every((p) => p.requests.succeeded > 0) ? 0 : 1;
}

/**
 * `infernode bench ...`: returns the exit code: 2 for a bad flag or file, 1 when a point had no successful
 * request, 130 when interrupted (after printing what was measured).
 */
export async function runBenchCommand(argv: string[], io: BenchIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  try {
    const command = parseBenchArgs(argv);
    switch (command.kind) {
      case 'help':
        io.stdout.write(USAGE);
        return 0;
      case 'compare': {
        // in order, so that a refusal names the first bad file whichever read finishes first
        const a = await readBenchResult(command.baseline);
        const b = await readBenchResult(command.candidate);
        io.stdout.write(`${renderComparison(a, b, [command.baseline, command.candidate])}\n`);
        return 0;
      }
      case 'run':
        return await run(command.options, io);
    }
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    io.stderr.write(`infernode bench: ${err.message}\n`);
    return 2;
  }
}
