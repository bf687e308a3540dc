#!/usr/bin/env node
/**
 * kubectl plugin entry: kubectl runs `kubectl-netpol_guard` from PATH for `kubectl netpol-guard …`
 * (a dash in the command maps to an underscore in the file name). It is the same CLI; only the
 * commands it prints back (revoke lines, hints) say `kubectl netpol-guard`.
 */
import { setProgramName } from '../operator/programName.js';

setProgramName('kubectl netpol-guard');
await import('./main.js');
