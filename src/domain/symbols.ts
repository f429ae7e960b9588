/**
 * Security codes. Exchange, board and price precision all follow from the six digits, so a bare
 * code is enough; an explicit exchange tag is only allowed to confirm what the code already says.
 */
import { InputError } from './types.ts';
import type { Board, Exchange, Security } from './types.ts';

interface Segment {
  exchange: Exchange;
  board: Board;
  decimals: 2 | 3;
}

/**
 * Longest prefix wins. The SH, SZ and BJ prefix sets are disjoint, which is what lets a bare code
 * decide its exchange. Note `900` (SH B-shares, USD, 0.001) versus `92` (BSE): both start with 9.
 */
const PREFIXES: ReadonlyArray<[string, Segment]> = [
  // SSE
  ...['600', '601', '603', '605'].map((p): [string, Segment] => [
    p,
    { exchange: 'SH', board: 'main', decimals: 2 },
  ]),
  ...['688', '689'].map((p): [string, Segment] => [p, { exchange: 'SH', board: 'star', decimals: 2 }]),
  ...['50', '51', '52', '56', '58'].map((p): [string, Segment] => [
    p,
    { exchange: 'SH', board: 'fund', decimals: 3 },
  ]),
  ['11', { exchange: 'SH', board: 'bond', decimals: 3 }],
  ['900', { exchange: 'SH', board: 'bshare', decimals: 3 }],
  // SZSE
  ...['000', '001', '002', '003'].map((p): [string, Segment] => [
    p,
    { exchange: 'SZ', board: 'main', decimals: 2 },
  ]),
  ...['300', '301', '302'].map((p): [string, Segment] => [
    p,
    { exchange: 'SZ', board: 'chinext', decimals: 2 },
  ]),
  ...['15', '16', '18'].map((p): [string, Segment] => [p, { exchange: 'SZ', board: 'fund', decimals: 3 }]),
  ['12', { exchange: 'SZ', board: 'bond', decimals: 3 }],
  // SZ B-shares are quoted in HKD with a 0.01 tick.
  ['200', { exchange: 'SZ', board: 'bshare', decimals: 2 }],
  // BSE: every stock moved to 920xxx on 2025-10-09; 43/83/87 are the retired codes.
  ['92', { exchange: 'BJ', board: 'bse', decimals: 2 }],
  ...['43', '83', '87'].map((p): [string, Segment] => [p, { exchange: 'BJ', board: 'bse', decimals: 2 }]),
];

const RETIRED_BSE = /^(43|83|87)/;

const EXCHANGE_NAMES: Record<Exchange, string> = { SH: 'Shanghai', SZ: 'Shenzhen', BJ: 'Beijing' };

function segmentOf(code: string): Segment | undefined {
  let best: [string, Segment] | undefined;
  for (const entry of PREFIXES) {
    if (code.startsWith(entry[0]) && (!best || entry[0].length > best[0].length)) best = entry;
  }
  return best?.[1];
}

type Parsed = { ok: true; sec: Security } | { ok: false; why: string };

function parse(input: string): Parsed {
  const text = input.trim().toUpperCase();
  const m = /^(?:(SH|SZ|BJ)(\d{6})|(\d{6})(?:\.(SH|SZ|BJ))?)$/.exec(text);
  if (!m) return { ok: false, why: 'expected a 6-digit code such as 600519, sh600519 or 600519.SH' };
  const code = (m[2] ?? m[3]) as string;
  const tagged = (m[1] ?? m[4]) as Exchange | undefined;
  if (/^0+$/.test(code)) return { ok: false, why: 'not a security code' };
  const seg = segmentOf(code);
  if (!seg)
    return {
      ok: false,
      why: `no A-share, fund, bond or B-share segment uses the prefix ${code.slice(0, 3)}`,
    };
  if (tagged && tagged !== seg.exchange) {
    return {
      ok: false,
      why: `code ${code} is a ${EXCHANGE_NAMES[seg.exchange]} (${seg.exchange}) security, so the ${tagged} tag contradicts it`,
    };
  }
  return {
    ok: true,
    sec: {
      code,
      exchange: seg.exchange,
      id: `${code}.${seg.exchange}`,
      board: seg.board,
      decimals: seg.decimals,
    },
  };
}

/** Throws InputError naming the input when it is not a recognised security code. */
export function parseSymbol(input: string): Security {
  const r = parse(String(input));
  if (!r.ok) throw new InputError(`invalid security code "${input}": ${r.why}`);
  return r.sec;
}

export function tryParseSymbol(input: string): Security | null {
  const r = parse(String(input));
  return r.ok ? r.sec : null;
}

/**
 * A caution for codes that parse but can no longer trade: the BSE retired 43/83/87 codes on
 * 2025-10-09 and quote sources no longer answer for them. null when there is nothing to say.
 */
export function symbolWarning(sec: Security): string | null {
  if (sec.board === 'bse' && RETIRED_BSE.test(sec.code)) {
    return `${sec.id} is a retired BSE code (all BSE stocks moved to 920xxx on 2025-10-09); use the new 920 code`;
  }
  return null;
}

/**
 * Risk-warning status as the exchange shows it in the short name: ST, *ST, S*ST, SST. Status is
 * point-in-time (names change when the warning is added or lifted), so pass the name from the same
 * day's quote.
 */
export function isRiskWarningName(name: string): boolean {
  const n = name.normalize('NFKC').replace(/\s+/g, '').toUpperCase();
  return /^(\*|S\*|S)?ST/.test(n);
}
