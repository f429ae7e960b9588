// Shared by bin/sealguard.js and scripts/build.mjs: is dist/ built from the sources as they are now?
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Newest modification time of any file under dir (0 when dir is absent). */
export function newestSourceMtime(dir) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    const m = e.isDirectory() ? newestSourceMtime(p) : statSync(p).mtimeMs;
    if (m > newest) newest = m;
  }
  return newest;
}

/** True when dist/ exists and no file in src/ changed since it was built. */
export function distIsFresh(root) {
  try {
    const stamp = JSON.parse(readFileSync(join(root, 'dist', 'BUILD.json'), 'utf8'));
    return newestSourceMtime(join(root, 'src')) <= stamp.sourceMtimeMs;
  } catch {
    return false;
  }
}
