/**
 * Builds the demo day from the scenarios: limits from the domain rules, one seeded simulation per
 * stock, files named by symbol, and the manifest the demo command reads.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { limitPrices } from '../../src/domain/limits.ts';
import { toTicks } from '../../src/domain/prices.ts';
import { parseSymbol } from '../../src/domain/symbols.ts';
import type { DemoManifest } from '../../src/market/demoManifest.ts';
import { snapshotToJson } from '../../src/market/recorder.ts';
import { seeded } from './rng.ts';
import { DEMO_DATE, DEMO_STOCKS, type DemoSpec } from './scenarios.ts';
import { simulateDay, type DayLimits, type SimulatedDay } from './simulate.ts';

export interface GeneratedStock {
  spec: DemoSpec;
  limits: DayLimits;
  file: string;
  day: SimulatedDay;
}

/** The seed is derived from the code alone, so editing one scenario never reshuffles the others. */
function seedOf(spec: DemoSpec): number {
  return Number(spec.symbol.slice(0, 6)) * 2654435761;
}

export function limitsOf(spec: DemoSpec, date = DEMO_DATE): DayLimits {
  const sec = parseSymbol(spec.symbol);
  const prevClose = toTicks(spec.prevClose, sec.decimals);
  const lim = limitPrices(sec, prevClose, { date });
  if (!lim) throw new Error(`${spec.symbol} has no price limit on ${date}`);
  return { prevClose, up: lim.up, down: lim.down };
}

export function generateDemo(date = DEMO_DATE): GeneratedStock[] {
  return DEMO_STOCKS.map((spec) => {
    const limits = limitsOf(spec, date);
    return {
      spec,
      limits,
      file: `${spec.symbol}.jsonl.gz`,
      day: simulateDay(spec, date, limits, seeded(seedOf(spec))),
    };
  });
}

export function manifestOf(stocks: GeneratedStock[], date = DEMO_DATE): DemoManifest {
  return {
    date,
    generator: 'npx tsx scripts/gen-demo.ts',
    stocks: stocks.map(({ spec, limits, file }) => ({
      key: spec.key,
      symbol: spec.symbol,
      name: spec.name,
      prevClose: spec.prevClose,
      limitUp: limits.up,
      limitDown: limits.down,
      position: spec.position,
      scenario: spec.scenario,
      file,
    })),
  };
}

/** Writes <dir>/<symbol>.jsonl.gz for each stock and <dir>/manifest.json; returns what it wrote. */
export function writeDemo(dir: string, date = DEMO_DATE): GeneratedStock[] {
  mkdirSync(dir, { recursive: true });
  const stocks = generateDemo(date);
  for (const s of stocks) {
    const text = s.day.snapshots.map((snap) => snapshotToJson(snap) + '\n').join('');
    writeFileSync(join(dir, s.file), gzipSync(Buffer.from(text, 'utf8'), { level: 9 }));
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifestOf(stocks, date), null, 2) + '\n');
  return stocks;
}
