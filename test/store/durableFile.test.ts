import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileDurable } from '../../src/store/durableFile.ts';

describe('durable file writes', () => {
  it('make the directory again when it was removed after an earlier write', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sg-durable-')), 'data');
    await writeFileDurable(join(dir, 'orders.json'), '{"a":1}\n');
    rmSync(dir, { recursive: true });
    await writeFileDurable(join(dir, 'orders.json'), '{"a":2}\n');
    expect(readFileSync(join(dir, 'orders.json'), 'utf8')).toBe('{"a":2}\n');
  });
});
