// Sums the vitest JSON report and the Python bridge report into the single closing line CI reads.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
const missing = [];

if (existsSync('.reports/vitest.json')) {
  const r = JSON.parse(readFileSync('.reports/vitest.json', 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0);
} else missing.push('vitest');

if (existsSync('.reports/python.json')) {
  const r = JSON.parse(readFileSync('.reports/python.json', 'utf8'));
  passed += r.passed ?? 0;
  failed += r.failed ?? 0;
} else missing.push('python');

// A runner that never reported (typecheck or lint stopped the run first) counts as one failure,
// so a broken build can never print a clean line.
failed += missing.length;
if (missing.length) console.log(`no report from: ${missing.join(', ')}`);
console.log(`${passed} passed, ${failed} failed`);
