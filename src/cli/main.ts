#!/usr/bin/env node
/** `netpol-guard` entry point: run the subcommand, then exit with its status. */
import { runMain } from './dispatch.js';

// exitCode, not exit(): output still queued for a pipe (a large SARIF document) is written first.
process.exitCode = await runMain(process.argv.slice(2));
