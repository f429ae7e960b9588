import type { z } from 'zod';
import { SealGuardError, type SealGuardErrorOptions } from '../domain/errors.ts';

/**
 * A store file that cannot be used as it is. The message names the file, says what is wrong and
 * what happened to the file, so an operator can fix it by hand without reading code.
 */
export class StoreError extends SealGuardError {
  override name = 'StoreError';
  readonly file: string;

  constructor(
    file: string,
    problem: string,
    outcome = 'The file was left untouched.',
    options?: SealGuardErrorOptions,
  ) {
    super(`${file}: ${problem}. ${outcome}`, { ...options, context: { file, ...options?.context } });
    this.file = file;
  }
}

/** `data.watches[0].threshold: Invalid input: expected number, received string`, one per issue. */
export function formatZodIssues(error: z.ZodError, root = 'data'): string {
  return error.issues.map((issue) => `${formatPath(root, issue.path)}: ${issue.message}`).join('; ');
}

function formatPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}
