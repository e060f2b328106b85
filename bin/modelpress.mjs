#!/usr/bin/env node
// modelpress CLI entry: see js/cli.mjs (or `modelpress --help`).
import { main } from '../js/cli.mjs';

process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
process.exitCode = await main(process.argv.slice(2));
