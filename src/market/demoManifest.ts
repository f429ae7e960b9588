/**
 * The demo market day shipped in data/demo: which stocks it has, their prices and the paper
 * position the demo starts with. Written by scripts/gen-demo.ts, read by the demo command.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { PACKAGE_ROOT } from '../paths.ts';

export const DEMO_DIR = join(PACKAGE_ROOT, 'data', 'demo');

const manifestSchema = z.object({
  /** The trading day recorded, YYYY-MM-DD. */
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  generator: z.string(),
  stocks: z.array(
    z.object({
      /** Scenario letter in data/demo/README.md. */
      key: z.string(),
      symbol: z.string(),
      name: z.string(),
      /** Decimal string, as quote sources show it. */
      prevClose: z.string(),
      /** Ticks, as limitPrices computes them for `date`. */
      limitUp: z.number().int(),
      limitDown: z.number().int(),
      /** Shares the paper account holds and may sell today; 0 = watched only. */
      position: z.number().int().nonnegative(),
      scenario: z.string(),
      /** Recording file name, relative to the manifest's directory. */
      file: z.string(),
    }),
  ),
});

export type DemoManifest = z.infer<typeof manifestSchema>;
export type DemoStock = DemoManifest['stocks'][number];

export interface LoadedDemo extends DemoManifest {
  /** Absolute paths of the recordings, in manifest order. */
  files: string[];
}

/** Reads and checks <dir>/manifest.json (default data/demo). */
export function loadDemoManifest(dir: string = DEMO_DIR): LoadedDemo {
  const path = join(dir, 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read demo manifest ${path}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(`demo manifest ${path} is invalid: ${parsed.error.issues[0]?.message ?? 'bad shape'}`);
  return { ...parsed.data, files: parsed.data.stocks.map((s) => join(dir, s.file)) };
}
