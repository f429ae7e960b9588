/**
 * Tencent parser throughput over the captured 900-row payload, one core:
 * `npx tsx scripts/bench-tencent-parse.ts`. Prints records/s for the GBK-bytes path (what the
 * adapter parses) and for already-decoded text, next to a plain decode-and-split baseline.
 */
import { readFileSync } from 'node:fs';
import iconv from 'iconv-lite';
import { parseTencent } from '../src/market/tencentParse.ts';

const text = readFileSync(
  new URL('../../shared/reference/fixtures/tencent_20221122_full_900rows_utf8.txt', import.meta.url),
  'utf8',
);
const gbk = iconv.encode(text, 'gbk');

function rate(label: string, fn: () => number): number {
  for (let i = 0; i < 50; i++) fn();
  let records = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 1500) records += fn();
  const perSec = Math.round(records / ((performance.now() - t0) / 1000));
  console.log(`${label.padEnd(28)} ${perSec.toLocaleString('en-US')} records/s`);
  return perSec;
}

function splitBaseline(): number {
  const body = new TextDecoder('gb18030').decode(gbk);
  let n = 0;
  for (const line of body.split('\n')) {
    const q = line.indexOf('"');
    if (q < 0) continue;
    const f = line.slice(q + 1, line.lastIndexOf('"')).split('~');
    if (Number(f[3]) >= 0 && Number(f[10]) >= 0) n++;
  }
  return n;
}

rate('decode-and-split baseline', splitBaseline);
rate('parseTencent(GBK bytes)', () => parseTencent(gbk).snapshots.length);
rate('parseTencent(decoded text)', () => parseTencent(text).snapshots.length);
