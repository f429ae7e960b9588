#!/usr/bin/env node
// `npx sealguard` / `npm start`. Runs the bundle in dist/ (built by `npm install` through
// "prepare") when it is up to date with src/, else the TypeScript sources through tsx: an edited
// source always wins over a stale build.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { distIsFresh } from './freshness.js';
import { applyV8Flags } from './v8flags.js';

applyV8Flags();
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
