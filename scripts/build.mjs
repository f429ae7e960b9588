#!/usr/bin/env node
/**
 * Bundles src/ into dist/ with esbuild (runs on `npm install` / `npm ci` through "prepare").
 *
 * Why: running the TypeScript through tsx costs about 50 MB of RSS and ~1 s of start-up per
 * process (its transform machinery stays resident); the bundled JavaScript runs on plain node.
 * bin/sealguard.js uses dist/ only while it is newer than every file in src/, and falls back to
 * tsx otherwise, so an edited source is never shadowed by a stale build.
 */
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newestSourceMtime } from '../bin/freshness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// Dependencies stay external (resolved from node_modules at run time). chinese-days too: its
// holiday JSON is read at run time (src/domain/holidayData.ts), so a newer chinese-days that
// brings next year's holidays is used as soon as it is installed, without a rebuild.
const external = Object.keys(pkg.dependencies ?? {});

const started = newestSourceMtime(join(root, 'src'));
rmSync(join(root, 'dist'), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['src/cli.ts', 'src/app.ts', 'src/config.ts', 'src/log.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  sourcemap: 'linked',
  logLevel: 'warning',
});
writeFileSync(join(root, 'dist', 'BUILD.json'), JSON.stringify({ sourceMtimeMs: started }) + '\n');
