import { ConfigError, helpText, parseConfig } from '../config/options.js';
import { serve } from './serve.js';

/** `infernode <command>`; returns the exit code (2 for a bad flag or value). */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        console.log(helpText());
        return command === undefined ? 2 : 0;
      case 'serve':
        if (rest.includes('--help')) {
          console.log(helpText());
          return 0;
        }
        return await serve(parseConfig(rest));
      case 'models':
        return await (await import('./models-command.js')).runModelsCommand(rest);
      case 'bench':
        return await (await import('../loadgen/command.js')).runBenchCommand(rest);
      default:
        console.error(`infernode: unknown command "${command.slice(0, 64)}" (see infernode --help)`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`infernode: ${err.message}`);
      return 2;
    }
    throw err;
  }
}
