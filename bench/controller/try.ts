import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runControllerBench } from './controllerBench.js';
const counts = process.argv.slice(2).map(Number);
const r = await runControllerBench({ workDir: mkdtempSync(path.join(os.tmpdir(), 'cb-')), recordCounts: [counts[0]!], takeoverCounts: [counts[1]!], rounds: 1, log: console.log });
console.log(JSON.stringify(r.problems));
