import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { z } from 'zod';
import { openJsonStore } from '../../src/store/jsonStore.ts';

const child = fileURLToPath(new URL('./storeWriter.child.ts', import.meta.url));
let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Start the writer, wait until it has committed once, let it run a random while, then kill -9. */
function runAndKill(file: string, aliveMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    proc.stdout.once('data', () => setTimeout(() => proc.kill('SIGKILL'), aliveMs));
    proc.once('error', reject);
    proc.once('exit', (_code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited on its own (${signal})`)),
    );
  });
}

it('a writer killed with SIGKILL at random moments always leaves a whole, committed state', async () => {
  dir = await mkdtemp(join(tmpdir(), 'sg-crash-'));
  const root = dir;
  const State = z.object({ n: z.number().int(), items: z.array(z.number().int()) });
  // Two stores killed three times each, in parallel (one per core) to keep the file fast.
  await Promise.all(
    [0, 1].map(async (lane) => {
      const file = join(root, `state${lane}.json`);
      let lastN = 0;
      for (let round = 0; round < 3; round++) {
        await runAndKill(file, Math.floor(Math.random() * 100));
        const doc = JSON.parse(await readFile(file, 'utf8')) as {
          version: number;
          data: { n: number; items: number[] };
        };
        expect(doc.version).toBe(1);
        expect(doc.data.n).toBeGreaterThanOrEqual(lastN + 1);
        expect(doc.data.items).toHaveLength(5000);
        expect(doc.data.items.every((x) => x === doc.data.n)).toBe(true);
        lastN = doc.data.n;
      }
      const store = await openJsonStore({
        file,
        schema: State,
        version: 1,
        defaults: () => ({ n: 0, items: [] }),
      });
      expect(store.data.n).toBe(lastN);
    }),
  );
  expect((await readdir(root)).sort()).toEqual(['state0.json', 'state1.json']);
}, 60_000);
