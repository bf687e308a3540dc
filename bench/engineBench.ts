/** Runs the engine scaling measurement (bench/engine.ts) in a pinned child and derives growth. */
import { fileURLToPath } from 'node:url';
import type { EngineResult, EngineShape } from './engine.js';
import { exitOf, spawnNode, stderrTail } from './proc.js';

export const ENGINE_SHAPES: readonly EngineShape[] = ['peers', 'ipBlocks', 'ports'];

export interface EngineRow extends EngineResult {
  /** medianMs / medianMs of the previous (10× smaller) size: 10 is linear, ~13 is n·log n here. */
  growth: number | undefined;
}

export interface EngineShapeResult {
  shape: EngineShape;
  rows: EngineRow[];
  /**
   * log10 of the time ratio over the largest decade: 1.0 is linear; n·log n gives ~1.1 between
   * 1,000 and 10,000; 2 is quadratic.
   */
  exponent: number;
}

export async function runEngineBench(sizes: number[], budgetMs: number): Promise<EngineShapeResult[]> {
  const child = spawnNode(
    fileURLToPath(new URL('./engineWorker.js', import.meta.url)),
    [ENGINE_SHAPES.join(','), sizes.join(','), String(budgetMs)],
    { core: 0, ipc: true },
  );
  const results = await new Promise<EngineResult[]>((resolve, reject) => {
    child.once('message', (message: EngineResult[]) => resolve(message));
    child.once('exit', (code) => reject(new Error(`engine benchmark exited (${code}) without results: ${stderrTail(child)}`)));
  });
  const code = await exitOf(child);
  if (code !== 0) throw new Error(`engine benchmark exited with ${code}: ${stderrTail(child)}`);
  return ENGINE_SHAPES.map((shape) => {
    const mine = results.filter((r) => r.shape === shape).sort((a, b) => a.size - b.size);
    const rows = mine.map((r, i) => ({ ...r, growth: i === 0 ? undefined : r.medianMs / mine[i - 1]!.medianMs }));
    const last = mine[mine.length - 1]!;
    const previous = mine[mine.length - 2];
    const exponent = previous ? Math.log(last.medianMs / previous.medianMs) / Math.log(last.size / previous.size) : NaN;
    return { shape, rows, exponent };
  });
}
