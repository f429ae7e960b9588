#!/usr/bin/env node
import { applyV8Flags } from './v8flags.js';
import { register } from 'tsx/esm/api';

// Measure with the V8 settings the product runs with (bin/v8flags.js, as bin/sealguard.js).
applyV8Flags();

register();
await import('../bench/run.ts');
