import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoPath } from '../deploy/support.js';

/**
 * The README's "What a grant opens" shows outputs that docs/what-a-grant-opens/render.sh
 * generated with the real CLI; this keeps the README from drifting away from those files.
 */
const docs = repoPath('docs', 'what-a-grant-opens');
const read = (file: string): string => fs.readFileSync(path.join(docs, file), 'utf8');

describe('README: what a grant opens', () => {
  const readme = fs.readFileSync(repoPath('README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## What a grant opens'), readme.indexOf('## Operator commands'));

  it('shows both generated explain outputs verbatim, after the command that made them', () => {
    for (const file of ['explain-isolates.txt', 'explain.txt']) {
      assert.ok(section.includes(`$ netpol-guard explain -f debug-orders-db.yaml\n${read(file)}\`\`\``), `${file} is not in the README as generated`);
    }
  });

  it('shows the picture rendered from the generated grant.dot', () => {
    assert.match(section, /!\[[^\]]+\]\(docs\/what-a-grant-opens\/grant\.svg\)/);
    const graph = /^digraph "([^"]+)" \{/.exec(read('grant.dot'));
    assert.ok(graph, 'grant.dot is not a digraph');
    // Graphviz writes the graph name as the SVG's title (escaping "-" as &#45;).
    const title = /<title>([^<]+)<\/title>/.exec(read('grant.svg'));
    assert.equal(title?.[1]?.replace(/&#45;/g, '-'), graph[1]);
    assert.ok(read('explain.txt').startsWith(`NetworkPolicy ${graph[1]}: ALLOWED`));
  });
});
