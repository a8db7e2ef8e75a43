#!/usr/bin/env node
// The `infernode` command (package.json "bin"), compiled to dist/src/cli/infernode.js.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
