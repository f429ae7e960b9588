/**
 * doctor's WeCom check measures this host's clock against the Date header of qyapi's answer (the
 * fake qyapi sets it like any HTTP server; dateOffsetMs plays a WeCom clock that differs) and
 * fails beyond the ±300 s window in which our callback server accepts WeCom's timestamps.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkWecom, printResults } from '../../src/cli/doctor.ts';
import type { Config } from '../../src/config.ts';
import { startFakeQyapi, type FakeQyapi } from '../helpers/fakeQyapi.ts';

let qy: FakeQyapi;
beforeEach(async () => {
  qy = await startFakeQyapi({ corpId: 'wwcorp1', secret: 'wecom-secret-xyz' });
});
afterEach(async () => {
  await qy.close();
});

const wecom = (): NonNullable<Config['wecom']> => ({
  corpId: 'wwcorp1',
  agentId: 1000002,
  secret: 'wecom-secret-xyz',
  allowedUsers: ['ZhangSan'],
  apiRoot: qy.url,
  callback: { token: 'QDG6eK', aesKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C' },
});

function printed(r: Awaited<ReturnType<typeof checkWecom>>): string {
  const lines: string[] = [];
  printResults([r], (l) => lines.push(l), ['wecom-secret-xyz']);
  return lines.join('\n');
}

describe('doctor: WeCom clock skew', () => {
  it('an in-sync host: ✓ with the measured skew', async () => {
    const r = await checkWecom(wecom(), 2000);
    expect(r.ok).toBe(true);
    const m = /host clock ([+-]\d+\.\d) s vs qyapi Date header \(±(\d+\.\d) s\)/.exec(r.detail);
    expect(m, r.detail).not.toBeNull();
    expect(Math.abs(Number(m![1]))).toBeLessThanOrEqual(Number(m![2]));
    expect(printed(r)).toMatch(/^✓ wecom: gettoken ok/);
  });

  it('WeCom 400 s ahead of this host: ✗, the skew printed, the fix names NTP', async () => {
    qy.dateOffsetMs = 400_000;
    const r = await checkWecom(wecom(), 2000);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/host clock -(399|400|401)\.\d s vs qyapi Date header/);
    expect(r.detail).toContain('every WeCom callback');
    const text = printed(r);
    expect(text).toMatch(/^✗ wecom: /);
    expect(text).toMatch(/fix: sync this machine's clock/);
    expect(text).not.toContain('wecom-secret-xyz');
  });

  it('a host clock 301 s fast (doctor on the same wall clock the guard uses): ✗', async () => {
    const r = await checkWecom(wecom(), 2000, () => Date.now() + 302_000);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/host clock \+30[12]\.\d s/);
  });

  it('within the window (WeCom 250 s behind): ✓, still reported', async () => {
    qy.dateOffsetMs = -250_000;
    const r = await checkWecom(wecom(), 2000);
    expect(r.ok).toBe(true);
    expect(r.detail).toMatch(/host clock \+(249|250|251)\.\d s/);
  });
});
