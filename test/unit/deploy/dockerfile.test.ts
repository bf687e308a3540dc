import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { V1Deployment } from '@kubernetes/client-node';
import { REPO_ROOT, baseObjects, findObject, readYaml, repoPath } from './support.js';

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  base: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile → stages of instructions; comments dropped, backslash continuations joined. */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(pending + line);
    pending = '';
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const match = /^(\S+)\s+(.*)$/.exec(line);
    assert.ok(match, `unparseable Dockerfile line: ${line}`);
    const keyword = match[1]!.toUpperCase();
    const args = match[2]!.trim();
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      assert.ok(from, `unparseable FROM: ${args}`);
      stages.push({ base: from[1]!, name: from[2], instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    assert.ok(stage, `${keyword} before the first FROM`);
    stage.instructions.push({ keyword, args });
  }
  return stages;
}

/** COPY arguments: flags, then sources, then the destination (shell or JSON form). */
function parseCopy(args: string): { from: string | undefined; sources: string[]; dest: string } {
  const words = args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

/** .dockerignore patterns (the subset this repo uses: names, globs with *, and leading-slash-free paths). */
function dockerIgnored(patterns: string[], relPath: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/+/, '').replace(/\/+$/, '');
    const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}(/.*)?$`);
    if (regex.test(relPath)) ignored = !negate;
  }
  return ignored;
}

const dockerfileText = readFileSync(repoPath('Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfileText);
const finalStage = stages.at(-1)!;
const ignorePatterns = readFileSync(repoPath('.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const instructions = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);

describe('Dockerfile', () => {
  it('is multi-stage and every stage is a slim Node 20 image', () => {
    assert.ok(stages.length >= 2, 'build and runtime stages');
    for (const stage of stages) assert.match(stage.base, /^node:20-(bookworm-slim|slim)(@sha256:[0-9a-f]{64})?$/, stage.base);
  });

  it('builds with dev dependencies and ships production dependencies only', () => {
    const runs = (stage: Stage) => instructions(stage, 'RUN').map((i) => i.args).join('\n');
    const buildStage = stages.find((s) => /\bnpm ci\b(?!.*--omit=dev)/.test(runs(s)) && /\bnpm run build\b/.test(runs(s)));
    assert.ok(buildStage, 'a stage runs a full `npm ci` and `npm run build`');
    const prodStage = stages.find((s) => /\bnpm ci\b.*--omit=dev/.test(runs(s)));
    assert.ok(prodStage, 'a stage runs `npm ci --omit=dev`');
    const copiesFrom = instructions(finalStage, 'COPY').map((i) => parseCopy(i.args));
    const nodeModules = copiesFrom.find((c) => c.sources.some((s) => s.endsWith('node_modules')));
    assert.equal(nodeModules?.from, prodStage.name, 'node_modules come from the production-only stage');
    const dist = copiesFrom.find((c) => c.sources.some((s) => s.endsWith('dist')));
    assert.equal(dist?.from, buildStage.name, 'dist comes from the build stage');
    assert.ok(!/\bnpm (ci|install)\b/.test(runs(finalStage)), 'the runtime stage installs nothing');
  });

  it('ships package.json, whose "type": "module" makes Node load dist/ as ESM', () => {
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { type?: string };
    assert.equal(pkg.type, 'module');
    const copies = instructions(finalStage, 'COPY').map((i) => parseCopy(i.args));
    assert.ok(copies.some((c) => c.sources.some((s) => s.endsWith('package.json'))));
  });

  it('every file the build context COPYs exists and is not excluded by .dockerignore', () => {
    const stageNames = new Set<string>();
    let contextCopies = 0;
    for (const stage of stages) {
      for (const copy of instructions(stage, 'COPY').map((i) => parseCopy(i.args))) {
        if (copy.from !== undefined) {
          assert.ok(stageNames.has(copy.from), `COPY --from=${copy.from} names no earlier stage`);
          continue;
        }
        for (const source of copy.sources) {
          contextCopies += 1;
          assert.ok(existsSync(path.join(REPO_ROOT, source)), `COPY source ${source} does not exist`);
          assert.ok(!dockerIgnored(ignorePatterns, source.replace(/^\.\//, '')), `COPY source ${source} is excluded by .dockerignore`);
        }
      }
      if (stage.name !== undefined) stageNames.add(stage.name);
    }
    assert.ok(contextCopies > 0);
  });

  it('the build it runs emits the entrypoint it names: src/cli/main.ts → dist/cli/main.js', () => {
    const entrypoint = instructions(finalStage, 'ENTRYPOINT');
    assert.equal(entrypoint.length, 1);
    assert.deepEqual(JSON.parse(entrypoint[0]!.args), ['node', 'dist/cli/main.js']);
    assert.deepEqual(JSON.parse(instructions(finalStage, 'CMD')[0]!.args), ['serve']);
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.match(pkg.scripts['build'] ?? '', /tsc -p tsconfig\.build\.json/);
    const buildConfig = readYaml(repoPath('tsconfig.build.json')) as { extends?: string; compilerOptions?: { rootDir?: string; outDir?: string } };
    assert.equal(buildConfig.compilerOptions?.rootDir, 'src');
    assert.equal(buildConfig.compilerOptions?.outDir, 'dist');
    assert.ok(existsSync(repoPath('src', 'cli', 'main.ts')));
    // The tsconfig it extends must be in the build context too.
    if (buildConfig.extends !== undefined) {
      const copied = stages.flatMap((s) => instructions(s, 'COPY').map((i) => parseCopy(i.args))).filter((c) => c.from === undefined).flatMap((c) => c.sources);
      assert.ok(copied.some((s) => path.normalize(s) === path.normalize(buildConfig.extends!)), `${buildConfig.extends} is not copied`);
    }
    assert.ok(existsSync(repoPath('dist', 'cli', 'main.js')), 'dist/cli/main.js (run `npm run build`; `npm test` does)');
  });

  it('runs as the numeric non-root user the manifests expect, with NODE_ENV=production', () => {
    const user = instructions(finalStage, 'USER').at(-1)?.args;
    assert.ok(user !== undefined, 'USER in the runtime stage');
    const match = /^(\d+)(?::(\d+))?$/.exec(user);
    assert.ok(match, `USER ${user} is not numeric`);
    const uid = Number(match[1]);
    assert.ok(uid > 0);
    const deployment = findObject<V1Deployment>(baseObjects(), 'Deployment', 'netpol-guard');
    assert.equal(deployment.spec?.template.spec?.securityContext?.runAsUser, uid);
    if (match[2] !== undefined) assert.equal(deployment.spec?.template.spec?.securityContext?.runAsGroup, Number(match[2]));
    const env = instructions(finalStage, 'ENV').map((i) => i.args).join(' ');
    assert.match(env, /\bNODE_ENV[= ]"?production"?/);
  });

  it('bakes in no certificates or keys', () => {
    for (const stage of stages) {
      for (const copy of instructions(stage, 'COPY').map((i) => parseCopy(i.args))) {
        for (const source of copy.sources) assert.doesNotMatch(source, /certs|\.key$|\.crt$|\.pem$/, source);
      }
    }
  });
});

describe('.dockerignore', () => {
  it('excludes dependencies, outputs, certificates, git metadata and tests', () => {
    for (const entry of ['node_modules', 'build', 'dist', 'certs', '.git', 'test']) {
      assert.ok(dockerIgnored(ignorePatterns, entry), `${entry} is not excluded`);
      assert.ok(dockerIgnored(ignorePatterns, `${entry}/some/file`), `${entry}/… is not excluded`);
    }
    assert.ok(dockerIgnored(ignorePatterns, 'certs/tls.key'));
    assert.ok(!dockerIgnored(ignorePatterns, 'src/cli/main.ts'));
  });
});
