import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { StoreError, openJsonStore } from '../../src/store/jsonStore.ts';

const Watches = z.object({
  watches: z.array(z.object({ code: z.string().regex(/^\d{6}$/), threshold: z.number().int().positive() })),
});
type Watches = z.infer<typeof Watches>;

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sg-store-'));
  file = join(dir, 'watches.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function open(extra: Partial<Parameters<typeof openJsonStore<Watches>>[0]> = {}) {
  return openJsonStore<Watches>({
    file,
    schema: Watches,
    version: 1,
    defaults: () => ({ watches: [] }),
    ...extra,
  });
}

async function snapshot(path: string) {
  return { bytes: await readFile(path), mtimeMs: (await stat(path)).mtimeMs };
}

describe('openJsonStore', () => {
  it('starts from the defaults when the file is missing and does not create it at open', async () => {
    const store = await open();
    expect(store.data).toEqual({ watches: [] });
    expect(store.file).toBe(file);
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
  });

  it('writes {version, data} on the first update and reads it back in a new process', async () => {
    const store = await open();
    await store.update((d) => {
      d.watches.push({ code: '600519', threshold: 20_000_000 });
    });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      version: 1,
      data: { watches: [{ code: '600519', threshold: 20_000_000 }] },
    });
    const reopened = await open();
    expect(reopened.data).toEqual({ watches: [{ code: '600519', threshold: 20_000_000 }] });
  });

  it('keeps every one of many concurrent updates, in call order', async () => {
    const store = await open();
    const codes = Array.from({ length: 50 }, (_, i) => String(600000 + i));
    await Promise.all(
      codes.map((code) =>
        store.update((d) => {
          d.watches.push({ code, threshold: 1 });
        }),
      ),
    );
    expect(store.data.watches.map((w) => w.code)).toEqual(codes);
    expect((await open()).data.watches.map((w) => w.code)).toEqual(codes);
  });

  it('rejects a mutation that breaks the schema and changes neither memory nor disk', async () => {
    const store = await open();
    await store.update((d) => {
      d.watches.push({ code: '600519', threshold: 1 });
    });
    const before = await snapshot(file);
    const bad = store.update((d) => {
      d.watches.push({ code: '600519', threshold: -5 });
    });
    await expect(bad).rejects.toThrow(StoreError);
    await expect(bad).rejects.toThrow(`${file}: update rejected: data.watches[1].threshold:`);
    await expect(bad).rejects.toThrow(/Nothing was written\.$/);
    expect(store.data).toEqual({ watches: [{ code: '600519', threshold: 1 }] });
    expect(await snapshot(file)).toEqual(before);
    // the chain survives a rejected update
    await store.update((d) => {
      d.watches[0]!.threshold = 2;
    });
    expect(store.data.watches[0]!.threshold).toBe(2);
  });

  it('rejects a mutator that throws, and one that is async, leaving the state as it was', async () => {
    const store = await open();
    await expect(
      store.update(() => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await expect(
      store.update(async (d) => {
        d.watches.push({ code: '600519', threshold: 1 });
      }),
    ).rejects.toThrow('update() mutators must be synchronous');
    expect(store.data).toEqual({ watches: [] });
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
  });

  it('publishes committed data frozen, so in-place edits fail instead of silently not saving', async () => {
    const store = await open();
    expect(() => store.data.watches.push({ code: '600519', threshold: 1 })).toThrow(TypeError);
  });

  it('refuses corrupt JSON, naming the file, and leaves it byte-for-byte untouched', async () => {
    await writeFile(file, '{"version": 1, "data": {"watches": [');
    const before = await snapshot(file);
    const opening = open();
    await expect(opening).rejects.toThrow(StoreError);
    await expect(opening).rejects.toThrow(
      new RegExp(`^${escape(file)}: is not valid JSON \\(.+\\)\\. The file was left untouched\\.$`),
    );
    await opening.catch((e: StoreError) => expect(e.file).toBe(file));
    expect(await snapshot(file)).toEqual(before);
  });

  it('refuses a schema-invalid file with the zod path and message', async () => {
    await writeFile(
      file,
      JSON.stringify({ version: 1, data: { watches: [{ code: '600519', threshold: 'lots' }] } }),
    );
    const before = await snapshot(file);
    await expect(open()).rejects.toThrow(
      `${file}: invalid contents: data.watches[0].threshold: Invalid input: expected number, received string. The file was left untouched.`,
    );
    expect(await snapshot(file)).toEqual(before);
  });

  it('refuses a file without the {version, data} envelope', async () => {
    await writeFile(file, JSON.stringify({ watches: [] }));
    await expect(open()).rejects.toThrow(
      `${file}: is not a SealGuard store: expected {"version": <integer>, "data": ...}`,
    );
  });

  it('refuses a version newer than the code knows', async () => {
    await writeFile(file, JSON.stringify({ version: 3, data: { watches: [] } }));
    const before = await snapshot(file);
    await expect(open({ version: 2 })).rejects.toThrow(
      `${file}: version 3 was written by a newer SealGuard (this one knows up to version 2)`,
    );
    expect(await snapshot(file)).toEqual(before);
  });

  it('migrates an older file step by step, keeping a backup of the original bytes', async () => {
    const v1 = JSON.stringify({ version: 1, data: { codes: ['600519'] } });
    await writeFile(file, v1);
    const store = await open({
      version: 3,
      migrations: {
        1: (old: { codes: string[] }) => ({ items: old.codes.map((code) => ({ code })) }),
        2: (old: { items: { code: string }[] }) => ({
          watches: old.items.map((i) => ({ code: i.code, threshold: 20_000_000 })),
        }),
      },
    });
    expect(store.data).toEqual({ watches: [{ code: '600519', threshold: 20_000_000 }] });
    expect(await readFile(`${file}.v1.bak`, 'utf8')).toBe(v1);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ version: 3, data: store.data });
  });

  it('does not touch the file when a migration step is missing or its result fails the schema', async () => {
    await writeFile(file, JSON.stringify({ version: 1, data: { codes: ['600519'] } }));
    const before = await snapshot(file);
    await expect(open({ version: 3, migrations: { 1: (o) => o } })).rejects.toThrow(
      `${file}: is version 2 and there is no migration from version 2 to 3. The file was left untouched.`,
    );
    await expect(open({ version: 2, migrations: { 1: (o) => o } })).rejects.toThrow(
      `${file}: invalid contents after migrating from version 1 to 2: data.watches: Invalid input: expected array, received undefined.`,
    );
    expect(await snapshot(file)).toEqual(before);
    expect(await readdir(dir)).toEqual(['watches.json']);
  });

  it('removes temp files left by a killed writer when it opens', async () => {
    await writeFile(join(dir, '.watches.json.123-abcd.tmp'), '{"version": 1, "data": {"wat');
    await writeFile(join(dir, '.other.json.123-abcd.tmp'), 'not ours');
    await open();
    expect((await readdir(dir)).sort()).toEqual(['.other.json.123-abcd.tmp']);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
