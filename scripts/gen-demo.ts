/**
 * Regenerates the demo market day in data/demo (or the directory given as the first argument).
 * Deterministic: the same code always writes the same snapshots.
 *   npx tsx scripts/gen-demo.ts [dir]
 */
import { fileURLToPath } from 'node:url';
import { writeDemo } from './demo/generate.ts';

const dir = process.argv[2] ?? fileURLToPath(new URL('../data/demo/', import.meta.url));
for (const s of writeDemo(dir)) {
  process.stdout.write(`${s.file}: ${s.day.snapshots.length} snapshots (${s.spec.key}: ${s.spec.name})\n`);
}
