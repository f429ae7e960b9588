import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import {
  asciiAmount,
  COLORS,
  encodePng,
  geometry,
  sealChartPng,
  tradingMinute,
  type SealChartInput,
} from '../../src/engine/chart.ts';
import { t } from '../helpers/snapshots.ts';

const pixel = (png: PNG, x: number, y: number): number[] => {
  const i = (y * png.width + x) * 4;
  return [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
};
const same = (a: number[], b: readonly number[]) => a.every((v, i) => v === b[i]);

/** Sealed 10:05 at 1.5亿, drains to 1800万, breaks 10:48, re-seals 13:10 at 6000万 into the close. */
function day(): SealChartInput {
  const points = [
    { ts: t('10:05:00'), seal: 150_000_000 },
    { ts: t('10:20:00'), seal: 120_000_000 },
    { ts: t('10:40:00'), seal: 50_000_000 },
    { ts: t('10:47:00'), seal: 18_000_000 },
    { ts: t('10:48:00'), seal: 0 },
    { ts: t('11:29:00'), seal: 0 },
    { ts: t('13:10:00'), seal: 60_000_000 },
    { ts: t('14:59:00'), seal: 60_000_000 },
  ];
  return { title: '603859.SH  2026-11-23', points, threshold: 20_000_000 };
}

describe('seal chart PNG', () => {
  it('is a valid PNG of the requested size, decoded by an independent decoder (pngjs)', () => {
    const buf = sealChartPng({ ...day(), width: 480, height: 240 });
    expect(buf.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const png = PNG.sync.read(buf); // checks CRCs and the zlib stream
    expect([png.width, png.height]).toEqual([480, 240]);
    const def = PNG.sync.read(sealChartPng(day()));
    expect([def.width, def.height]).toEqual([640, 320]);
  });

  it('draws the series: the line color at every sample and on the segment between samples', () => {
    const input = day();
    const png = PNG.sync.read(sealChartPng(input));
    const g = geometry(input);
    for (const p of input.points) {
      const c = pixel(png, g.x(p.ts), g.y(p.seal));
      expect(same(c, COLORS.series), `${new Date(p.ts).toISOString()} ${c.join(',')}`).toBe(true);
    }
    // Midway along the flat afternoon seal (13:10 → 14:59 at 6000万).
    const xm = Math.round((g.x(t('13:10:00')) + g.x(t('14:59:00'))) / 2);
    expect(same(pixel(png, xm, g.y(60_000_000)), COLORS.series)).toBe(true);
    // Under the line is filled, above it is background (nothing drawn there).
    expect(same(pixel(png, xm, g.y(30_000_000)), COLORS.fill)).toBe(true);
    expect(same(pixel(png, xm, g.y(110_000_000)), COLORS.background)).toBe(true);
    // The threshold line is dashed across the plot.
    const yT = g.y(20_000_000);
    const row = Array.from({ length: g.plot.x1 - g.plot.x0 }, (_, i) => pixel(png, g.plot.x0 + 1 + i, yT));
    expect(row.filter((c) => same(c, COLORS.threshold)).length).toBeGreaterThan(100);
  });

  it('an empty series still draws axes and labels, and nothing in the plot area', () => {
    const input = { title: 'X', points: [] };
    const png = PNG.sync.read(sealChartPng(input));
    const g = geometry(input);
    let series = 0;
    for (let y = g.plot.y0; y < g.plot.y1; y++)
      for (let x = g.plot.x0 + 1; x <= g.plot.x1; x++) if (same(pixel(png, x, y), COLORS.series)) series++;
    expect(series).toBe(0);
    expect(same(pixel(png, g.plot.x0, g.plot.y1), COLORS.axis)).toBe(true);
  });

  it('maps trading time without lunch and clamps the auctions', () => {
    expect(tradingMinute(t('09:20:00'))).toBe(0);
    expect(tradingMinute(t('10:30:00'))).toBe(60);
    expect(tradingMinute(t('12:15:00'))).toBe(120);
    expect(tradingMinute(t('13:30:00'))).toBe(150);
    expect(tradingMinute(t('15:03:00'))).toBe(240);
  });

  it('labels amounts in ASCII 万/亿 units and refuses silly sizes', () => {
    expect(asciiAmount(20_000_000)).toBe('2000w');
    expect(asciiAmount(150_000_000)).toBe('1.5yi');
    expect(asciiAmount(0)).toBe('0');
    expect(() => sealChartPng({ title: '', points: [], width: 10, height: 10 })).toThrow(/at least/);
    expect(() => encodePng(2, 2, new Uint8Array(5))).toThrow(/size/);
  });
});
