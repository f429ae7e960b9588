/**
 * Where the package's own files are (data/demo), whether this code runs from src/ through tsx or
 * from the dist/ bundle: walk up from this module to the directory holding package.json.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the SealGuard package root');
    dir = up;
  }
}

export const PACKAGE_ROOT = findRoot();
