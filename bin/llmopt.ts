#!/usr/bin/env node
// llmopt command-line entry: everything lives in src/cli/program.ts.
import { main } from '../src/cli/program.js';

main(process.argv).then((code) => {
  process.exitCode = code;
});
