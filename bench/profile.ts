/**
 * Summarises a V8 .cpuprofile (node --cpu-prof) as CPU time by component and by function, self
 * and inclusive. Idle samples are left out: waiting for the network costs nothing. Dividing by the
 * work done in the window (requests, grants) gives a cost per unit that can be compared between a
 * subject and its baseline even when the machine's load changed between their runs.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  /** Microseconds between consecutive samples (the first is from startTime). */
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileRow {
  name: string;
  /** Milliseconds with this on top of the stack. */
  selfMs: number;
  /** Milliseconds with this anywhere on the stack (counted once per sample). */
  inclusiveMs: number;
}

export interface ProfileSummary {
  /** CPU milliseconds in busy (non-idle) samples within the window. */
  busyMs: number;
  windowMs: number;
  /** By component: a package, a netpol-guard directory, a Node subsystem, GC, native code. */
  components: ProfileRow[];
  /** Functions by self time. */
  functions: ProfileRow[];
  /** netpol-guard functions (dist/ or build/src/) by inclusive time. */
  own: ProfileRow[];
}

/** Which component a frame belongs to: "netpol-guard server/", "fastify", "node:_http_server", … */
export function componentOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)') return '(program: V8/native)';
    return `native ${functionName.startsWith('RegExp:') ? 'RegExp' : functionName || '(anonymous)'}`;
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/(?:dist|build\/src)\/([^/]+)\//.exec(url);
  if (own) return `netpol-guard ${own[1]}/`;
  const internal = /^node:(?:internal\/)?([^/]+)/.exec(url);
  if (internal) return `node:${internal[1]!.replace(/\.js$/, '')}`;
  return url.replace(/^file:\/\//, '').split('/').slice(-2).join('/');
}

function frameName(frame: CallFrame): string {
  const file = frame.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/(dist|build)\//, '$1/');
  const name = frame.functionName.startsWith('RegExp:') ? `RegExp ${frame.functionName.slice(7, 40).trim()}…` : frame.functionName;
  return `${name || '(anonymous)'} ${file ? `${file}:${frame.lineNumber + 1}` : ''}`.trim();
}

function isOwnCode(frame: CallFrame): boolean {
  return /\/(dist|build\/src)\//.test(frame.url) && !frame.url.includes('node_modules');
}

const KEPT_ROWS = 60;

/**
 * `lastSeconds`: only samples from the end of the profile back this far, so start-up (module
 * loading, first compilation) is left out and the steady state under load remains.
 */
export function summariseProfile(file: string, options: { lastSeconds?: number } = {}): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const fromTime = options.lastSeconds === undefined ? profile.startTime : Math.max(profile.startTime, profile.endTime - options.lastSeconds * 1e6);
  const componentSelf = new Map<string, number>();
  const componentIncl = new Map<string, number>();
  const functionSelf = new Map<string, number>();
  const functionIncl = new Map<string, number>();
  let busyUs = 0;
  const add = (map: Map<string, number>, key: string, us: number): void => {
    map.set(key, (map.get(key) ?? 0) + us);
  };
  let time = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    // The delta before a sample is the time that sample stands for.
    const us = profile.timeDeltas[i] ?? 0;
    time += us;
    if (time < fromTime) continue;
    const leaf = byId.get(profile.samples[i]!);
    if (!leaf || leaf.callFrame.functionName === '(idle)') continue;
    busyUs += us;
    add(componentSelf, componentOf(leaf.callFrame), us);
    add(functionSelf, frameName(leaf.callFrame), us);
    // Each component and function counts once per sample, however often it recurses.
    const components = new Set<string>();
    const functions = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (frame.functionName === '(root)') continue;
      components.add(componentOf(frame));
      if (isOwnCode(frame)) functions.add(frameName(frame));
    }
    for (const c of components) add(componentIncl, c, us);
    for (const f of functions) add(functionIncl, f, us);
  }
  const rows = (names: Iterable<string>, self: Map<string, number>, incl: Map<string, number>): ProfileRow[] =>
    [...new Set(names)].map((name) => ({ name, selfMs: (self.get(name) ?? 0) / 1e3, inclusiveMs: (incl.get(name) ?? 0) / 1e3 }));
  return {
    busyMs: busyUs / 1e3,
    windowMs: (profile.endTime - fromTime) / 1e3,
    components: rows([...componentSelf.keys(), ...componentIncl.keys()], componentSelf, componentIncl).sort((a, b) => b.selfMs - a.selfMs),
    // The long tail says nothing and would bloat the saved results.
    functions: rows(functionSelf.keys(), functionSelf, functionIncl).sort((a, b) => b.selfMs - a.selfMs).slice(0, KEPT_ROWS),
    own: rows(functionIncl.keys(), functionSelf, functionIncl).sort((a, b) => b.inclusiveMs - a.inclusiveMs).slice(0, KEPT_ROWS),
  };
}

/** A profile together with the units of work done in its window. */
export interface MeasuredProfile {
  summary: ProfileSummary;
  /** Requests answered (or grants processed) in the profile's window. */
  units: number;
}

export interface CostRow {
  name: string;
  /** Self CPU µs per unit of work in each profile, in the order given. */
  costs: number[];
}

/** Self CPU per unit by component for each profile, biggest extra cost of the second over the first first. */
export function compareComponents(profiles: readonly MeasuredProfile[]): CostRow[] {
  const per = profiles.map((p) => new Map(p.summary.components.map((c) => [c.name, (c.selfMs * 1e3) / p.units])));
  const names = new Set(per.flatMap((m) => [...m.keys()]));
  const extra = (row: CostRow): number => (row.costs[1] ?? 0) - (row.costs[0] ?? 0);
  return [...names].map((name) => ({ name, costs: per.map((m) => m.get(name) ?? 0) })).sort((x, y) => extra(y) - extra(x));
}
