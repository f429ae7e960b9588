#!/usr/bin/env node
// `npx sealguard` / `npm start`. Runs the bundle in dist/ (built by `npm install` through
// "prepare") when it is up to date with src/, else the TypeScript sources through tsx: an edited
// source always wins over a stale build.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { distIsFresh } from './freshness.js';

// The guard is a long-running process with a small live heap (~30 MB at 5,000 watched) and a
// steady stream of short-lived snapshots: V8's default heap growth would let the heap swell to
// ~155 MB resident. Growing it by 30% steps keeps it near 108 MB (with the one helper thread
// below). The step is a trade: each major GC marks the whole live heap (at 20%, one every ~2.5 s
// cost ~4.5 µs of the ~14 µs of CPU per symbol per poll, bench 2026-12-02; at 400% it was gone),
// and a larger step means fewer of them for a few MB more resident.
// --optimize-for-size would save more memory but halves the parser's throughput.
setFlagsFromString('--heap-growing-percent=30');
// The young generation is the other half of it: polling 5,000 codes keeps one cycle's snapshots
// alive across scavenges, so V8 grows each semi-space to its 16 MB maximum (33.6 MB of new space,
// most of it empty but resident: 152 MB at 5,000 watched with 2,000 sealed and Telegram on). A
// 4 MB cap kept that case near 122 MB; since unchanged quotes are no longer re-parsed (far less
// short-lived garbage), 2 MB costs no measurable CPU and saves ~5 MB more (bench, 2026-12-02:
// 105-110 vs 112-115 MB at 5,000 watched, 13.4-13.6 vs 12.8-14.2 µs per symbol per poll). V8
// reads that cap only when the heap is created, so it cannot be set here: `npm start` and the
// Docker image pass `--max-semi-space-size=2` to node, and `--v8-pool-size=1`: one V8 helper
// thread instead of four. Each helper that compiles or marks gets a malloc arena of its own,
// kept resident after the work: one helper measured 3.5-4.5 MB less at 5,000 watched (106 vs
// 110 MB), which pays for the larger heap step above. GC work moves to the main thread; total
// CPU stayed within the noise (15.9 vs 15.3 µs per symbol per poll, three alternating runs).
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let entry;
if (process.env.SEALGUARD_FROM_SOURCE !== '1' && distIsFresh(root)) {
  entry = join(root, 'dist', 'cli.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = join(root, 'src', 'cli.ts');
}
const { main } = await import(pathToFileURL(entry).href);
const code = await main(process.argv.slice(2));
if (typeof code === 'number') process.exitCode = code;
