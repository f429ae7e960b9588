import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** ../shared/reference/fixtures beside the repo: the researched, real captured payloads. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../../../shared/reference/fixtures/${name}`, import.meta.url));
}

export function fixtureBytes(name: string): Buffer {
  return readFileSync(fixturePath(name));
}

export function fixtureText(name: string): string {
  return readFileSync(fixturePath(name), 'utf8');
}
