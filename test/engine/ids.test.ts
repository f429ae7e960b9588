/**
 * The client order id is what makes a sell happen once: the bridge's idempotency store, the
 * paper broker and the easytrader map all refuse a second order under the same id, and after a
 * restart the intent log is matched by it. So its value for given inputs must never change
 * between versions (ids written yesterday by the old code are compared with ids built today).
 */
import { describe, expect, it } from 'vitest';
import { clientOrderId } from '../../src/engine/ids.ts';

describe('clientOrderId', () => {
  it('is sg + day + code + exchange letter + segment + the first 4 hex digits of sha256(account)', () => {
    // sha256("bridge:8886001234") starts e45b, sha256("paper") starts 3826.
    expect(clientOrderId('2026-12-03', 'bridge:8886001234', '600519.SH', 2)).toBe('sg20261203600519Ss2e45b');
    expect(clientOrderId('2026-12-03', 'paper', '002116.SZ', 1)).toBe('sg20261203002116Ss13826');
  });

  it('asked again, for the same or another account, gives the same answers (the tag is only cached)', () => {
    for (let i = 0; i < 3; i++) {
      expect(clientOrderId('2026-12-03', 'paper', '300750.SZ', 1)).toBe('sg20261203300750Ss13826');
      expect(clientOrderId('2026-12-03', 'bridge:8886001234', '300750.SZ', 1)).toBe(
        'sg20261203300750Ss1e45b',
      );
    }
  });

  it('fits the bridge id rule [A-Za-z0-9_-]{8,32} for every board', () => {
    for (const s of ['600519.SH', '688981.SH', '000001.SZ', '300750.SZ', '830799.BJ'])
      expect(clientOrderId('2026-12-03', 'qmt:1234567890', s, 123)).toMatch(/^[A-Za-z0-9_-]{8,32}$/);
  });
});
