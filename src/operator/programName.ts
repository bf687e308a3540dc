/**
 * How the person invoked us, so every command we print back (the revoke line, hints) can be
 * pasted as is: `netpol-guard …` or, through the kubectl plugin entry, `kubectl netpol-guard …`.
 */
let programName = 'netpol-guard';

export function setProgramName(name: string): void {
  programName = name;
}

export function getProgramName(): string {
  return programName;
}
