#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npx sealguard` works right after
// `npm install` with no build step that could leave a stale dist/ behind.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
const code = await main(process.argv.slice(2));
if (typeof code === 'number') process.exitCode = code;
