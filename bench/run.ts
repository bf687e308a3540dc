/**
 * `npm run bench [-- --quick] [--only http,hostile,engine,sweeper,controller,view,effect] [--connections N] [--out FILE] [--keep]`
 * (NETPOL_GUARD_BENCH_POD_SIZES=10000,100000 overrides the effect section's pod counts)
 *
 * Runs the admission load test, the engine scaling and the sweeper pass benchmarks, prints the
 * tables and writes them with the machine description and the analysis to BENCHMARKS.md (a quick
 * run writes build/bench/BENCHMARKS.quick.md instead, so it never replaces a full run's results).
 * Timings never fail the run; exit 1 only when the benchmark itself broke (a server did not start,
 * answered errors, a pass missed grants).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runEngineBench, type EngineShapeResult } from './engineBench.js';
import { runAdmissionBench, SUBJECT_LOG_LEVEL, type AdmissionBenchResult } from './http/admissionBench.js';
import { hostileTable, runHostileBench, type HostileBenchResult } from './http/hostileBench.js';
import { canPin } from './proc.js';
import { engineTable, httpTables, profileComparison, sweeperTable, TARGETS, verdicts, verdictTable } from './report.js';
import { runSweeperBench, type SweeperBenchResult } from './sweeper/sweeperBench.js';
import { controllerTables, runControllerBench, type ControllerBenchResult } from './controller/controllerBench.js';
import { effectText, effectVerdicts, runEffectBench, type EffectBenchResult } from './effect/effectBench.js';
import { runViewBench, viewText, viewVerdicts, type ViewBenchResult } from './view/viewBench.js';

const SECTIONS = ['http', 'hostile', 'engine', 'sweeper', 'controller', 'view', 'effect'] as const;
type Section = (typeof SECTIONS)[number];

interface Plan {
  rounds: number;
  fixedRounds: number;
  roundSeconds: number;
  warmupSeconds: number;
  connections: number;
  quietVariant: boolean;
  profile: boolean;
  engineSizes: number[];
  engineBudgetMs: number;
  sweeperSizes: number[];
  sweeperRounds: number;
  recordCounts: number[];
  takeoverCounts: number[];
  controllerRounds: number;
  /** The view section's cluster: namespaces, live grants, closed GrantRecords, grants MODIFIED per second. */
  viewNamespaces: number;
  viewGrants: number;
  viewClosedRecords: number;
  viewChurnPerSecond: number;
  /** Closed-loop and fixed-rate rounds per webhook in the view and effect comparisons. */
  viewRounds: number;
  /** In-process decision measurement per webhook, ms. */
  decisionBudgetMs: number;
  /** Pod counts of the effect section's pod-source measurement. */
  podSizes: number[];
  analysisBudgetMs: number;
  /** Filler pods in the effect section's admission comparison. */
  admissionPods: number;
}

const FULL: Plan = {
  rounds: 5,
  fixedRounds: 3,
  roundSeconds: 3,
  warmupSeconds: 2,
  connections: 10,
  quietVariant: true,
  profile: true,
  engineSizes: [1, 10, 100, 1_000, 10_000],
  engineBudgetMs: 500,
  sweeperSizes: [1_000, 10_000, 100_000],
  sweeperRounds: 3,
  recordCounts: [10_000, 100_000],
  takeoverCounts: [10_000],
  controllerRounds: 1,
  viewNamespaces: 10_000,
  viewGrants: 50_000,
  viewClosedRecords: 10_000,
  viewChurnPerSecond: 10,
  viewRounds: 3,
  decisionBudgetMs: 2_000,
  podSizes: [10_000, 100_000],
  analysisBudgetMs: 1_500,
  admissionPods: 10_000,
};

const QUICK: Plan = {
  rounds: 1,
  fixedRounds: 1,
  roundSeconds: 1,
  warmupSeconds: 0.5,
  connections: 10,
  quietVariant: false,
  profile: false,
  engineSizes: [1, 10, 100, 1_000],
  engineBudgetMs: 50,
  sweeperSizes: [1_000, 10_000],
  sweeperRounds: 1,
  recordCounts: [2_000],
  takeoverCounts: [2_000],
  controllerRounds: 1,
  viewNamespaces: 1_000,
  viewGrants: 5_000,
  viewClosedRecords: 1_000,
  viewChurnPerSecond: 10,
  viewRounds: 1,
  decisionBudgetMs: 300,
  podSizes: [10_000],
  analysisBudgetMs: 200,
  admissionPods: 2_000,
};

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FULL_OUT = path.join(REPO_ROOT, 'BENCHMARKS.md');
const QUICK_OUT = path.join(REPO_ROOT, 'build', 'bench', 'BENCHMARKS.quick.md');

/** Everything a run measured, saved so the document can be re-rendered without measuring again. */
interface RunRecord {
  quick: boolean;
  plan: Plan;
  startedAt: string;
  elapsedSeconds: number;
  machine: MachineInfo;
  http: AdmissionBenchResult | undefined;
  /** Absent in records saved before the hostile section existed. */
  hostile?: HostileBenchResult | undefined;
  engine: EngineShapeResult[] | undefined;
  sweeper: SweeperBenchResult | undefined;
  /** Absent in records saved before the controller section existed. */
  controller?: ControllerBenchResult | undefined;
  /** Absent in records saved before the view and effect sections existed. */
  view?: ViewBenchResult | undefined;
  effect?: EffectBenchResult | undefined;
  failures: string[];
}

interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  pinned: boolean;
  loadAtStart: number[];
  loadAtEnd: number[];
}

function describeMachine(loadAtStart: number[], loadAtEnd: number[]): MachineInfo {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: os.totalmem() / 1024 ** 3,
    node: `${process.version} (${process.arch})`,
    os: `${os.type()} ${os.release()}`,
    pinned: canPin(),
    loadAtStart,
    loadAtEnd,
  };
}

function renderDocument(record: RunRecord): string {
  return [
    '# netpol-guard benchmarks',
    '',
    `Generated by \`npm run bench${record.quick ? ' -- --quick' : ''}\` (${record.quick ? 'quick' : 'full'} run, ${record.elapsedSeconds.toFixed(0)} s). ` +
      'Ratios come from rounds interleaved in the same run and are the numbers that count; absolute ' +
      'times are context and depend on the machine and on whatever else it was doing.',
    '',
    '## Machine',
    '',
    machineTable(record),
    '',
    resultSections(record),
    '',
    analysisText(),
    reproduceText(),
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      connections: { type: 'string' },
      render: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run bench -- [--quick] [--only http,hostile,engine,sweeper,controller,view,effect] [--connections N] [--out FILE] [--keep]\n' +
        '       NETPOL_GUARD_BENCH_POD_SIZES=10000,100000 sets the effect section\'s pod counts\n' +
        '       node build/bench/run.js --render RESULTS_JSON [--out FILE]   (re-render a saved run, e.g. after editing bench/ANALYSIS.md)\n',
    );
    return 0;
  }
  if (values.render !== undefined) {
    const record = JSON.parse(readFileSync(values.render, 'utf8')) as RunRecord;
    const outFile = values.out ?? (record.quick ? QUICK_OUT : FULL_OUT);
    writeFileSync(outFile, renderDocument(record));
    process.stdout.write(`${resultSections(record)}\n`);
    process.stderr.write(`wrote ${outFile} from ${values.render}\n`);
    return 0;
  }
  const sections = new Set<Section>();
  for (const name of (values.only ?? SECTIONS.join(',')).split(',')) {
    if (!(SECTIONS as readonly string[]).includes(name)) {
      process.stderr.write(`bench: unknown section "${name}" (expected ${SECTIONS.join(', ')})\n`);
      return 2;
    }
    sections.add(name as Section);
  }
  if ((sections.has('http') || sections.has('hostile')) && !existsSync(path.join(REPO_ROOT, 'dist', 'cli', 'main.js'))) {
    process.stderr.write('bench: dist/cli/main.js is missing; run `npm run build` first (npm run bench does)\n');
    return 2;
  }
  const plan = { ...(values.quick ? QUICK : FULL) };
  if (values.connections !== undefined) {
    plan.connections = Number(values.connections);
    if (!Number.isInteger(plan.connections) || plan.connections < 1) {
      process.stderr.write(`bench: --connections must be a positive integer, got "${values.connections}"\n`);
      return 2;
    }
  }
  const podSizes = process.env.NETPOL_GUARD_BENCH_POD_SIZES;
  if (podSizes !== undefined && podSizes !== '') {
    plan.podSizes = podSizes.split(',').map(Number);
    if (!plan.podSizes.every((n) => Number.isInteger(n) && n > 0)) {
      process.stderr.write(`bench: NETPOL_GUARD_BENCH_POD_SIZES must be positive integers separated by commas, got "${podSizes}"\n`);
      return 2;
    }
  }
  const outFile = values.out ?? (values.quick ? QUICK_OUT : FULL_OUT);
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'netpol-guard-bench-'));
  const startedAt = new Date();
  const loadAtStart = os.loadavg();
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };

  const failures: string[] = [];
  let http: AdmissionBenchResult | undefined;
  let hostile: HostileBenchResult | undefined;
  let engine: EngineShapeResult[] | undefined;
  let sweeper: SweeperBenchResult | undefined;
  let controller: ControllerBenchResult | undefined;
  let view: ViewBenchResult | undefined;
  let effect: EffectBenchResult | undefined;
  try {
    if (sections.has('http')) {
      log('== admission webhook under load');
      try {
        http = await runAdmissionBench({ repoRoot: REPO_ROOT, workDir, ...plan, log });
        failures.push(...http.problems);
      } catch (err) {
        failures.push(`admission benchmark: ${(err as Error).message}`);
      }
    }
    if (sections.has('hostile')) {
      log('== hostile clients: 100k-element policies against normal admissions');
      try {
        hostile = await runHostileBench({ repoRoot: REPO_ROOT, workDir, roundSeconds: Math.max(plan.roundSeconds, values.quick ? 2 : 5), warmupSeconds: plan.warmupSeconds, log });
        failures.push(...hostile.problems);
      } catch (err) {
        failures.push(`hostile benchmark: ${(err as Error).message}`);
      }
    }
    if (sections.has('engine')) {
      log('== engine scaling');
      try {
        engine = await runEngineBench(plan.engineSizes, plan.engineBudgetMs);
      } catch (err) {
        failures.push(`engine benchmark: ${(err as Error).message}`);
      }
    }
    if (sections.has('sweeper')) {
      log('== sweeper pass');
      try {
        sweeper = await runSweeperBench({ workDir, sizes: plan.sweeperSizes, rounds: plan.sweeperRounds, profile: plan.profile, log });
        failures.push(...sweeper.problems);
      } catch (err) {
        failures.push(`sweeper benchmark: ${(err as Error).message}`);
      }
    }
    if (sections.has('controller')) {
      log('== controller: GrantRecords at scale, takeover');
      try {
        controller = await runControllerBench({ workDir, recordCounts: plan.recordCounts, takeoverCounts: plan.takeoverCounts, rounds: plan.controllerRounds, log });
        failures.push(...controller.problems);
      } catch (err) {
        failures.push(`controller benchmark: ${(err as Error).message}`);
      }
    }
    const comparison = { rounds: plan.viewRounds, roundSeconds: plan.roundSeconds, warmupSeconds: plan.warmupSeconds, connections: plan.connections, decisionBudgetMs: plan.decisionBudgetMs };
    if (sections.has('view')) {
      log('== cluster view: webhook with and without a view of namespaces, live grants and closed records');
      try {
        view = await runViewBench({
          workDir,
          namespaces: plan.viewNamespaces,
          grants: plan.viewGrants,
          closedRecords: plan.viewClosedRecords,
          churnPerSecond: plan.viewChurnPerSecond,
          ...comparison,
          log,
        });
        failures.push(...view.problems);
      } catch (err) {
        failures.push(`view benchmark: ${(err as Error).message}`);
      }
    }
    if (sections.has('effect')) {
      log('== effect analysis: per admission, pods in the view, admission with and without pods');
      try {
        effect = await runEffectBench({ workDir, podSizes: plan.podSizes, analysisBudgetMs: plan.analysisBudgetMs, admissionPods: plan.admissionPods, ...comparison, log });
        failures.push(...effect.problems);
      } catch (err) {
        failures.push(`effect benchmark: ${(err as Error).message}`);
      }
    }
  } finally {
    if (values.keep) log(`work directory kept: ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }

  const record: RunRecord = {
    quick: values.quick === true,
    plan,
    startedAt: startedAt.toISOString(),
    elapsedSeconds: (Date.now() - startedAt.getTime()) / 1000,
    machine: describeMachine(loadAtStart, os.loadavg()),
    http,
    hostile,
    engine,
    sweeper,
    controller,
    view,
    effect,
    failures,
  };
  const recordFile = path.join(REPO_ROOT, 'build', 'bench', record.quick ? 'results.quick.json' : 'results.json');
  mkdirSync(path.dirname(recordFile), { recursive: true });
  writeFileSync(recordFile, JSON.stringify(record, null, 1));
  process.stdout.write(`${resultSections(record)}\n`);
  writeFileSync(outFile, renderDocument(record));
  log(`wrote ${path.relative(process.cwd(), outFile) || outFile} and ${path.relative(process.cwd(), recordFile)} (${record.elapsedSeconds.toFixed(0)} s)`);
  if (failures.length > 0) {
    log(`bench: the benchmark itself failed:\n  ${failures.join('\n  ')}`);
    return 1;
  }
  return 0;
}

function resultSections(record: RunRecord): string {
  const { plan, http, hostile, engine, sweeper, controller, view, effect, failures } = record;
  const out: string[] = [];
  if (failures.length > 0) {
    out.push('## The benchmark itself failed', '', 'These make the numbers below untrustworthy:', '', ...failures.map((f) => `- ${f}`), '');
  }
  out.push('## Targets', '', verdictTable([...verdicts(http, engine, sweeper), ...(view ? viewVerdicts(view) : []), ...(effect ? effectVerdicts(effect) : [])]), '');
  if (http) {
    out.push(
      '## Admission webhook under load',
      '',
      `Subject: \`node dist/cli/main.js serve --log-level ${SUBJECT_LOG_LEVEL}\` (the production default; JSON log lines, one audit line per decision, to /dev/null), ` +
        'default config, TLS. Baseline: bare fastify on the same Node with the same certificate, parsing the same body and answering an ' +
        `AdmissionReview of the same byte size. ${plan.rounds} closed-loop and ${plan.fixedRounds} fixed-rate interleaved round(s) of ${plan.roundSeconds} s per party after ${plan.warmupSeconds} s warm-up; medians of rounds; ` +
        'ratio = median of same-round netpol-guard/baseline. /validate receives the object as /mutate left it.',
      '',
      httpTables(http, plan.connections),
      '',
    );
  }
  if (hostile) {
    out.push('## Hostile clients: 100k-element policies (issue #19)', '', hostileTable(hostile), '');
  }
  if (engine) {
    out.push(
      '## Engine scaling',
      '',
      `\`evaluatePolicy\` on one policy whose single egress rule has N elements (bench/engine.ts), median of repeated evaluations within ${plan.engineBudgetMs} ms per point.`,
      '',
      engineTable(engine),
      '',
    );
  }
  if (sweeper) {
    out.push(
      '## Sweeper pass',
      '',
      `One \`sweep --once --dry-run\`-equivalent pass (Sweeper.runOnce, library API, info logging to /dev/null) over N labelled grants in 100 namespaces, 1% of them expired, ` +
        `served 500 per page over HTTPS by test/helpers/fakeApiServer.ts in its own process. Bare client loop: the sweeper's own list client (client-node via createPolicyApi) ` +
        `fetching and parsing the same pages. Raw loop: node:https keep-alive + JSON.parse. Every pass is a fresh process; ${plan.sweeperRounds} rotated round(s), medians; ratio = median of same-round pairs.`,
      '',
      sweeperTable(sweeper),
      '',
    );
  }
  if (controller) {
    out.push(
      '## Controller: GrantRecords and takeover (issue #15)',
      '',
      'The real GrantRecorder and KubeGrantRecordClient (client-node) in a fresh process against a grantrecords API over HTTPS in its own process ' +
        '(bench/controller/grantRecordServer.ts). open: N live grants, no records (a first install). prune: N closed records, half past the ' +
        'retention. Takeover: a warm standby (real Sweeper and LeaderElector) acquires the Lease from a silent leader; 1% of the grants are ' +
        'already due. Each case is checked against the servers afterwards (records written, deleted, closed Expired).',
      '',
      controllerTables(controller),
      '',
    );
  }
  const comparisonPlan = { rounds: plan.viewRounds, roundSeconds: plan.roundSeconds, connections: plan.connections };
  if (view) {
    out.push('## Cluster view: webhook memory, sync and admission latency (issue #16)', '', viewText(view, { ...comparisonPlan, churnPerSecond: plan.viewChurnPerSecond }), '');
  }
  if (effect) {
    out.push('## Effect analysis: per admission, pods in the view (issue #20)', '', effectText(effect, comparisonPlan), '');
  }
  const profiles = (http?.profiles ?? []).map((p) =>
    profileComparison(`${p.scenario}: netpol-guard serve vs bare fastify`, 'request', [
      { label: 'baseline', profile: p.baseline },
      { label: `netpol-guard (log ${SUBJECT_LOG_LEVEL})`, profile: p.subject },
      ...(p.quiet ? [{ label: 'netpol-guard (log warn)', profile: p.quiet }] : []),
    ]),
  );
  if (sweeper?.profile) {
    const p = sweeper.profile;
    profiles.push(
      profileComparison(`sweeper pass vs bare client loop, ${p.count.toLocaleString('en-US')} grants`, 'grant', [
        { label: 'bare loop', profile: p.baseline },
        { label: 'sweeper', profile: p.subject },
      ]),
    );
  }
  if (profiles.length > 0) {
    out.push(
      '## CPU profiles',
      '',
      'From `node --cpu-prof` in separate runs after the measured ones (profiling slows code down, so these are not the timed rounds): one closed-loop round per server ' +
        'after warm-up, and one pass per mode at the largest sweeper size. Only the measured window counts, idle samples excluded, and CPU time is divided by the ' +
        'requests (grants) done in it, so the two sides compare even if the machine was busier for one of them. "Self": time with that code on top of the stack.',
      '',
      profiles.join('\n\n'),
      '',
    );
  }
  return out.join('\n');
}

function machineTable(record: RunRecord): string {
  const m = record.machine;
  const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' / ');
  const busy = Math.max(m.loadAtStart[0] ?? 0, m.loadAtEnd[0] ?? 0) > 1;
  return [
    '| | |',
    '| --- | --- |',
    `| CPU | ${m.cpuModel}, ${m.cores} cores |`,
    `| Memory | ${m.memoryGiB.toFixed(1)} GiB |`,
    `| Node | ${m.node}, ${m.os} |`,
    `| Date | ${record.startedAt} |`,
    `| Pinning | ${m.pinned ? 'servers and sweeper passes on core 0, load generator and fake API server on core 1 (taskset)' : 'none (taskset not found)'} |`,
    `| Load average (1/5/15 min) | start ${load(m.loadAtStart)}, end ${load(m.loadAtEnd)}${busy ? ' — other work was running on the machine (other engineers\' builds and tests), so absolute numbers are noisy' : ''} |`,
  ].join('\n');
}

/** The hand-written analysis (profile findings, what remains and why) lives beside the code. */
function analysisText(): string {
  const file = path.join(REPO_ROOT, 'bench', 'ANALYSIS.md');
  return existsSync(file) ? `${readFileSync(file, 'utf8').trim()}\n` : '';
}

function reproduceText(): string {
  return [
    '',
    '## How to reproduce',
    '',
    '```sh',
    'npm run bench                 # full run (~10 min): builds dist/ and bench/, writes BENCHMARKS.md',
    'npm run bench -- --quick      # smoke run (<1 min): 1 short round, smaller sizes; writes build/bench/BENCHMARKS.quick.md',
    'npm run bench -- --only http  # one section (http, hostile, engine, sweeper, controller, view, effect); --keep keeps the work directory with the .cpuprofile files',
    'npm run bench -- --only hostile --out build/bench/hostile.md   # issue #19: 12 clients posting 100k-element policies vs normal /validate p99 and RSS',
    'npm run bench -- --only view,effect --out build/bench/view.md  # issues #16/#20: the cluster view and the effect analysis',
    'NETPOL_GUARD_BENCH_POD_SIZES=10000 npm run bench -- --only effect --out build/bench/effect.md   # skip the 100k-pod case',
    'node build/bench/run.js --render build/bench/results.json   # re-render BENCHMARKS.md from the saved results (after editing bench/ANALYSIS.md)',
    '```',
    '',
    `Full-run settings: ${FULL.rounds} closed-loop and ${FULL.fixedRounds} fixed-rate rounds × ${FULL.roundSeconds} s per party, ${FULL.warmupSeconds} s warm-up, ` +
      `${FULL.connections} connections; engine sizes ${FULL.engineSizes.join(', ')}; sweeper sizes ${FULL.sweeperSizes.join(', ')} × ${FULL.sweeperRounds} rounds; ` +
      `view ${FULL.viewNamespaces} namespaces, ${FULL.viewGrants} grants, ${FULL.viewClosedRecords} closed records, ${FULL.viewRounds} rounds; pod sizes ${FULL.podSizes.join(', ')}. ` +
      `Targets: ${JSON.stringify(TARGETS)}.`,
    '',
  ].join('\n');
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
