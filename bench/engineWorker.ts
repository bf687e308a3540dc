/**
 * Engine scaling in its own process (pinned by the parent), so the HTTP and sweeper runs leave no
 * garbage or JIT state behind in it.
 * usage: node engineWorker.js SHAPES SIZES BUDGET_MS   (comma lists; IPC: sends EngineResult[])
 */
import { measureEngine, type EngineResult, type EngineShape } from './engine.js';

const [shapesText, sizesText, budgetText] = process.argv.slice(2);
if (shapesText === undefined || sizesText === undefined || budgetText === undefined) {
  process.stderr.write('usage: engineWorker.js SHAPES SIZES BUDGET_MS\n');
  process.exit(2);
}
const shapes = shapesText.split(',') as EngineShape[];
const sizes = sizesText.split(',').map(Number);
const budgetMs = Number(budgetText);
// Every code path compiled before anything is timed; measureEngine's own warm-up is per size.
for (const shape of shapes) measureEngine(shape, 100, 20);
const results: EngineResult[] = [];
for (const shape of shapes) for (const size of sizes) results.push(measureEngine(shape, size, budgetMs));
process.send?.(results, () => process.disconnect());
