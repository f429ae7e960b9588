#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { register } from 'tsx/esm/api';

// Measure with the same V8 setting the product runs with (see bin/sealguard.js).
setFlagsFromString('--heap-growing-percent=20');

register();
await import('../bench/run.ts');
