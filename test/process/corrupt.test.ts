/**
 * A corrupt store file makes `sealguard start` refuse to run: non-zero exit, a message naming the
 * file and what is wrong, and the file byte-for-byte as it was (never "repaired" to defaults).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '../../bin/sealguard.js');

function start(dataDir: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'start'],
      {
        timeout: 14_000,
        // Nothing reachable is needed: the refusal happens before any feed or broker is touched.
        env: {
          PATH: process.env.PATH ?? '',
          TZ: process.env.TZ ?? '',
          DATA_DIR: dataDir,
          BROKER: 'paper',
          PAPER_POSITIONS: '002116:10000',
          QUOTE_SOURCES: 'tencent',
          TENCENT_QUOTE_URL: 'http://127.0.0.1:1',
          LOG_LEVEL: 'silent',
        },
      },
      (err, _stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stderr }),
    );
  });
}

describe('corrupt data file: clear refusal, file untouched', () => {
  it('settings.json that is not JSON, and orders.json that fails the schema', async () => {
    const a = mkdtempSync(join(tmpdir(), 'sg-corrupt-'));
    const b = mkdtempSync(join(tmpdir(), 'sg-corrupt-'));
    // A torn edit by hand, and an intent whose quantity is a string.
    const settings = Buffer.from(
      '{"version": 1, "data": {"watches": {"600519.SH": {"symbol": "600519.SH",\n',
    );
    const orders = Buffer.from(
      JSON.stringify(
        { version: 1, data: { intents: { x: { clientOrderId: 'x', quantity: '100' } } } },
        null,
        2,
      ),
    );
    writeFileSync(join(a, 'settings.json'), settings);
    writeFileSync(join(b, 'orders.json'), orders);
    const [ra, rb] = await Promise.all([start(a), start(b)]);

    expect(ra.code, ra.stderr).not.toBe(0);
    expect(ra.stderr).toContain(`cannot start: ${join(a, 'settings.json')}: is not valid JSON`);
    expect(ra.stderr).toContain('The file was left untouched.');
    expect(readFileSync(join(a, 'settings.json')).equals(settings)).toBe(true);

    expect(rb.code, rb.stderr).not.toBe(0);
    expect(rb.stderr).toContain(`cannot start: ${join(b, 'orders.json')}: invalid contents:`);
    expect(rb.stderr).toMatch(/data\.intents\.x\.quantity: .*number/);
    expect(readFileSync(join(b, 'orders.json')).equals(orders)).toBe(true);
    // Refused before anything was written: no new store files beside the corrupt one.
    expect(readdirSync(a)).toEqual(['settings.json']);
    expect(readdirSync(b)).toEqual(['orders.json']);
  }, 20_000);

  it('a DATA_DIR that is a file: one clear line, no stack trace, the file untouched', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sg-corrupt-')), 'not-a-dir');
    writeFileSync(file, 'x');
    const r = await start(file);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toContain(`cannot start: ${file}: cannot be used as the data directory (`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(file, 'utf8')).toBe('x');
  }, 20_000);
});
