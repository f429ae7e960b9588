/**
 * The seal chart: a small PNG of one stock's seal amount through the trading day, drawn without a
 * browser or a native canvas. A tiny RGB rasterizer, a 5×7 bitmap font for the ASCII labels and
 * a PNG encoder on node:zlib (deflate + crc32) — no dependency, nothing to download at install.
 *
 * The x axis is trading time, not clock time: 09:30–11:30 and 13:00–15:00 side by side (lunch is
 * squeezed out, the auctions clamp to the ends), so a seal held through lunch is one flat line.
 * Amounts on the y axis are in 万 ("w") and 亿 ("yi"): the font has no CJK glyphs.
 */
import { crc32, deflateSync } from 'node:zlib';
import { exchangeSecondsOfDay } from '../domain/time.ts';

export interface SealPoint {
  /** Epoch ms (exchange time decides the x position). */
  ts: number;
  /** Seal amount in yuan; 0 while the board is open. */
  seal: number;
}

export interface SealChartInput {
  /** ASCII title, e.g. "002116.SZ  2026-11-23". Other characters draw as '?'. */
  title: string;
  points: SealPoint[];
  /** The amount trigger, drawn as a dashed red line when set. */
  threshold?: number | null;
  width?: number;
  height?: number;
}

export type Rgb = readonly [number, number, number];

export const COLORS = {
  background: [255, 255, 255] as Rgb,
  axis: [90, 90, 90] as Rgb,
  grid: [228, 228, 228] as Rgb,
  text: [40, 40, 40] as Rgb,
  series: [200, 30, 30] as Rgb,
  fill: [250, 215, 215] as Rgb,
  threshold: [30, 90, 200] as Rgb,
};

/** Trading minutes shown: 120 in the morning and 120 in the afternoon. */
const SESSION_MINUTES = 240;
const MARGIN = { left: 52, right: 12, top: 22, bottom: 20 };

/** Minutes of continuous trading elapsed at ts, 0..240. */
export function tradingMinute(ts: number): number {
  const m = exchangeSecondsOfDay(ts) / 60;
  const am0 = 9 * 60 + 30;
  const pm0 = 13 * 60;
  if (m <= am0) return 0;
  if (m <= am0 + 120) return m - am0;
  if (m <= pm0) return 120;
  return Math.min(SESSION_MINUTES, 120 + (m - pm0));
}

/** 1/2/5 × 10^n at or above v: round gridlines. */
function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const f of [1, 2, 2.5, 5, 10]) if (f * p >= v) return f * p;
  return 10 * p;
}

/** 20000000 -> "2000w", 150000000 -> "1.5yi", 0 -> "0". */
export function asciiAmount(yuan: number): string {
  if (yuan === 0) return '0';
  if (yuan >= 100_000_000) return `${trimNum(yuan / 100_000_000)}yi`;
  if (yuan >= 10_000) return `${trimNum(yuan / 10_000)}w`;
  return String(Math.round(yuan));
}

function trimNum(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** Where a point lands, in pixels; shared with the tests so they can look at the right pixels. */
export interface Geometry {
  width: number;
  height: number;
  plot: { x0: number; y0: number; x1: number; y1: number };
  yMax: number;
  x(ts: number): number;
  y(seal: number): number;
}

export function geometry(input: SealChartInput): Geometry {
  const width = input.width ?? 640;
  const height = input.height ?? 320;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 160 || height < 100)
    throw new RangeError(`chart size ${width}×${height}: at least 160×100 whole pixels`);
  const peak = Math.max(0, ...input.points.map((p) => p.seal), input.threshold ?? 0);
  const yMax = niceCeil(peak * 1.1);
  const plot = {
    x0: MARGIN.left,
    y0: MARGIN.top,
    x1: width - MARGIN.right - 1,
    y1: height - MARGIN.bottom - 1,
  };
  return {
    width,
    height,
    plot,
    yMax,
    x: (ts) => Math.round(plot.x0 + (tradingMinute(ts) / SESSION_MINUTES) * (plot.x1 - plot.x0)),
    y: (seal) => Math.round(plot.y1 - (Math.max(0, Math.min(seal, yMax)) / yMax) * (plot.y1 - plot.y0)),
  };
}

class Raster {
  readonly px: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    bg: Rgb,
  ) {
    this.px = new Uint8Array(width * height * 3);
    for (let i = 0; i < this.px.length; i += 3) this.px.set(bg, i);
  }

  set(x: number, y: number, c: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.px.set(c, (y * this.width + x) * 3);
  }

  hline(x0: number, x1: number, y: number, c: Rgb, dash = 0): void {
    for (let x = Math.min(x0, x1); x <= Math.max(x0, x1); x++)
      if (!dash || Math.floor(x / dash) % 2 === 0) this.set(x, y, c);
  }

  vline(x: number, y0: number, y1: number, c: Rgb): void {
    for (let y = Math.min(y0, y1); y <= Math.max(y0, y1); y++) this.set(x, y, c);
  }

  /** Bresenham, `thick` pixels wide (square pen). */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thick = 1): void {
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    const lo = -Math.floor((thick - 1) / 2);
    for (;;) {
      for (let i = lo; i < lo + thick; i++) for (let j = lo; j < lo + thick; j++) this.set(x0 + i, y0 + j, c);
      if (x0 === x1 && y0 === y1) return;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }

  text(x: number, y: number, s: string, c: Rgb): void {
    for (const ch of s) {
      const g = FONT[ch] ?? FONT['?']!;
      for (let row = 0; row < 7; row++)
        for (let col = 0; col < 5; col++) if ((g[row]! >> (4 - col)) & 1) this.set(x + col, y + row, c);
      x += 6;
    }
  }
}

export function textWidth(s: string): number {
  return [...s].length * 6 - 1;
}

/** Draws the chart and returns the PNG bytes. */
export function sealChartPng(input: SealChartInput): Buffer {
  const g = geometry(input);
  const r = new Raster(g.width, g.height, COLORS.background);
  const { x0, y0, x1, y1 } = g.plot;

  // Grid: 4 horizontal steps with amount labels; session marks on the time axis.
  for (let i = 0; i <= 4; i++) {
    const v = (g.yMax * i) / 4;
    const y = g.y(v);
    if (i > 0) r.hline(x0 + 1, x1, y, COLORS.grid);
    const label = asciiAmount(v);
    r.text(x0 - 4 - textWidth(label), y - 3, label, COLORS.text);
  }
  const marks: [number, string][] = [
    [0, '9:30'],
    [60, '10:30'],
    [120, '11:30/13'],
    [180, '14:00'],
    [240, '15:00'],
  ];
  for (const [m, label] of marks) {
    const x = Math.round(x0 + (m / SESSION_MINUTES) * (x1 - x0));
    if (m > 0 && m < SESSION_MINUTES) r.vline(x, y0, y1 - 1, COLORS.grid);
    r.vline(x, y1, y1 + 3, COLORS.axis);
    const w = textWidth(label);
    r.text(Math.max(0, Math.min(g.width - w - 1, x - Math.floor(w / 2))), y1 + 6, label, COLORS.text);
  }
  r.text(x0, 7, input.title, COLORS.text);

  r.hline(x0, x1, y1, COLORS.axis);
  r.vline(x0, y0, y1, COLORS.axis);

  // Area under the seal, then the seal line on top (an open board shows red on the axis), then
  // the threshold over both.
  const pts = [...input.points].sort((a, b) => a.ts - b.ts).map((p) => [g.x(p.ts), g.y(p.seal)] as const);
  for (let i = 0; i < pts.length; i++) {
    const [xa, ya] = pts[i]!;
    const [xb] = pts[i + 1] ?? pts[i]!;
    for (let x = xa; x <= xb; x++) {
      // Height between samples follows the straight line drawn below.
      const yb = pts[i + 1]?.[1] ?? ya;
      const y = xb === xa ? ya : Math.round(ya + ((yb - ya) * (x - xa)) / (xb - xa));
      if (y < y1) r.vline(x, y + 1, y1 - 1, COLORS.fill);
    }
  }
  if (pts.length === 1) r.line(pts[0]![0], pts[0]![1], pts[0]![0], pts[0]![1], COLORS.series, 3);
  for (let i = 1; i < pts.length; i++)
    r.line(pts[i - 1]![0], pts[i - 1]![1], pts[i]![0], pts[i]![1], COLORS.series, 2);
  if (input.threshold && input.threshold > 0) {
    const y = g.y(input.threshold);
    r.hline(x0 + 1, x1, y, COLORS.threshold, 4);
    const label = `sell < ${asciiAmount(input.threshold)}`;
    r.text(x1 - textWidth(label) - 2, y - 9, label, COLORS.threshold);
  }
  return encodePng(g.width, g.height, r.px);
}

/** 8-bit RGB, no interlace, filter 0 on every row: plain and small enough for flat charts. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  if (rgb.length !== width * height * 3) throw new RangeError('encodePng: pixel buffer size mismatch');
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0;
    raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (width * 3 + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** 5×7 glyphs, one number per row, bit 4 = leftmost column. Only what labels and titles use. */
const FONT: Record<string, number[]> = {
  ' ': [0, 0, 0, 0, 0, 0, 0],
  '0': [14, 17, 19, 21, 25, 17, 14],
  '1': [4, 12, 4, 4, 4, 4, 14],
  '2': [14, 17, 1, 2, 4, 8, 31],
  '3': [31, 2, 4, 2, 1, 17, 14],
  '4': [2, 6, 10, 18, 31, 2, 2],
  '5': [31, 16, 30, 1, 1, 17, 14],
  '6': [6, 8, 16, 30, 17, 17, 14],
  '7': [31, 1, 2, 4, 8, 8, 8],
  '8': [14, 17, 17, 14, 17, 17, 14],
  '9': [14, 17, 17, 15, 1, 2, 12],
  '.': [0, 0, 0, 0, 0, 12, 12],
  ':': [0, 12, 12, 0, 12, 12, 0],
  '-': [0, 0, 0, 31, 0, 0, 0],
  '/': [1, 1, 2, 4, 8, 16, 16],
  '<': [2, 4, 8, 16, 8, 4, 2],
  '%': [24, 25, 2, 4, 8, 19, 3],
  '?': [14, 17, 1, 2, 4, 0, 4],
  '(': [2, 4, 8, 8, 8, 4, 2],
  ')': [8, 4, 2, 2, 2, 4, 8],
  A: [14, 17, 17, 31, 17, 17, 17],
  B: [30, 17, 17, 30, 17, 17, 30],
  C: [14, 17, 16, 16, 16, 17, 14],
  D: [28, 18, 17, 17, 17, 18, 28],
  E: [31, 16, 16, 30, 16, 16, 31],
  F: [31, 16, 16, 30, 16, 16, 16],
  G: [14, 17, 16, 23, 17, 17, 15],
  H: [17, 17, 17, 31, 17, 17, 17],
  I: [14, 4, 4, 4, 4, 4, 14],
  J: [7, 2, 2, 2, 2, 18, 12],
  K: [17, 18, 20, 24, 20, 18, 17],
  L: [16, 16, 16, 16, 16, 16, 31],
  M: [17, 27, 21, 21, 17, 17, 17],
  N: [17, 17, 25, 21, 19, 17, 17],
  O: [14, 17, 17, 17, 17, 17, 14],
  P: [30, 17, 17, 30, 16, 16, 16],
  Q: [14, 17, 17, 17, 21, 18, 13],
  R: [30, 17, 17, 30, 20, 18, 17],
  S: [15, 16, 16, 14, 1, 1, 30],
  T: [31, 4, 4, 4, 4, 4, 4],
  U: [17, 17, 17, 17, 17, 17, 14],
  V: [17, 17, 17, 17, 17, 10, 4],
  W: [17, 17, 17, 21, 21, 21, 10],
  X: [17, 17, 10, 4, 10, 17, 17],
  Y: [17, 17, 17, 10, 4, 4, 4],
  Z: [31, 1, 2, 4, 8, 16, 31],
  a: [0, 0, 14, 1, 15, 17, 15],
  e: [0, 0, 14, 17, 31, 16, 14],
  i: [4, 0, 12, 4, 4, 4, 14],
  k: [16, 16, 18, 20, 24, 20, 18],
  l: [12, 4, 4, 4, 4, 4, 14],
  s: [0, 0, 15, 16, 14, 1, 30],
  w: [0, 0, 17, 17, 21, 21, 10],
  y: [0, 0, 17, 17, 15, 1, 14],
};
