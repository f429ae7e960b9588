/**
 * The demo market day: six stocks, each telling one story a seal guard must handle. Codes and
 * names are real (most appear in the 2022-11-22 capture in reference/quotes.md); every number in
 * the day is synthetic.
 */
export const DEMO_DATE = '2026-11-23';

/** [exchange time HH:MM:SS, value] knots; values are interpolated linearly between knots. */
export type Path = ReadonlyArray<readonly [string, number]>;

export interface SealPlan {
  side: 'up' | 'down';
  /** First snapshot showing the seal. */
  from: string;
  /** The board breaks at this time (a sell order larger than the queue); absent = held to the close. */
  breakAt?: string;
  /** Seal amount target in yuan (bid1 × price, or ask1 × price when sealed down). */
  amount: Path;
  /** Chance that anything happens in a 3 s step while sealed (quiet boards publish less). */
  activity: number;
  /** How briskly sellers hit the queue, relative to a normal seal (1). */
  fills: number;
}

export interface DemoSpec {
  key: 'a' | 'b' | 'c' | 'd' | 'e' | 'f';
  symbol: string;
  name: string;
  prevClose: string;
  /** Shares the paper account holds and can sell today (T+1 already satisfied); 0 = not held. */
  position: number;
  floatShares: number;
  scenario: string;
  /** Opening price set by the call auction, ticks; for a 一字板 it is the limit. */
  open: number;
  /** Shares matched in the opening auction. */
  openVolume: number;
  /** Price targets (ticks) outside the seal; the walk follows them with noise. */
  price: Path;
  seal: SealPlan;
  /** Shares matched in the closing auction. */
  closeVolume: number;
}

const W = 10_000; // 万
const Y = 100_000_000; // 亿

export const DEMO_STOCKS: readonly DemoSpec[] = [
  {
    key: 'a',
    symbol: '002116.SZ',
    name: '中国海诚',
    prevClose: '9.11',
    position: 10_000,
    floatShares: 416_404_414,
    scenario: 'strong seal held to the close: sealed 10:12, seal grows to ~4.6亿, drifts, closes sealed',
    open: 920,
    openVolume: 412_300,
    price: [
      ['09:30:00', 920],
      ['09:45:00', 936],
      ['10:00:00', 958],
      ['10:08:00', 976],
      ['10:11:57', 996],
    ],
    seal: {
      side: 'up',
      from: '10:12:00',
      activity: 0.8,
      fills: 1,
      amount: [
        ['10:12:00', 3000 * W],
        ['10:20:00', 1.2 * Y],
        ['10:40:00', 2.2 * Y],
        ['11:10:00', 3.2 * Y],
        ['11:30:00', 3.5 * Y],
        ['13:30:00', 4.6 * Y],
        ['14:20:00', 4.2 * Y],
        ['14:57:00', 4.4 * Y],
      ],
    },
    closeVolume: 356_000,
  },
  {
    key: 'b',
    symbol: '603859.SH',
    name: '能科科技',
    prevClose: '32.45',
    position: 10_000,
    floatShares: 163_850_000,
    scenario:
      'seal drains and breaks: sealed 10:05 with ~1.5亿, cancels and sells drain it through 5000万, 3000万, 2000万; the board opens at 10:48 and the price falls back',
    open: 3300,
    openVolume: 86_400,
    price: [
      ['09:30:00', 3300],
      ['09:40:00', 3362],
      ['09:55:00', 3450],
      ['10:03:00', 3522],
      ['10:04:57', 3556],
      ['10:48:00', 3540],
      ['10:55:00', 3482],
      ['11:30:00', 3462],
      ['13:30:00', 3441],
      ['14:30:00', 3476],
      ['14:57:00', 3470],
    ],
    seal: {
      side: 'up',
      from: '10:05:00',
      breakAt: '10:48:00',
      activity: 0.9,
      fills: 1.5,
      amount: [
        ['10:05:00', 9000 * W],
        ['10:07:00', 1.5 * Y],
        ['10:15:00', 1.55 * Y],
        ['10:22:00', 1.2 * Y],
        ['10:30:00', 8000 * W],
        ['10:36:00', 5000 * W],
        ['10:40:00', 3000 * W],
        ['10:43:00', 2000 * W],
        ['10:45:00', 1500 * W],
        ['10:47:00', 800 * W],
        ['10:48:00', 500 * W],
      ],
    },
    closeVolume: 61_500,
  },
  {
    key: 'c',
    symbol: '600839.SH',
    name: '四川长虹',
    prevClose: '8.45',
    position: 10_000,
    floatShares: 4_616_244_222,
    scenario:
      'fake drain that re-seals: sealed 10:30, drains after lunch to ~2500万 then ~1800万 for about two minutes around 13:44, buyers return and the seal rebuilds to ~1.2亿 by the close',
    open: 851,
    openVolume: 1_216_000,
    price: [
      ['09:30:00', 851],
      ['09:50:00', 868],
      ['10:10:00', 890],
      ['10:25:00', 915],
      ['10:29:57', 926],
    ],
    seal: {
      side: 'up',
      from: '10:30:00',
      activity: 0.8,
      fills: 1,
      amount: [
        ['10:30:00', 4000 * W],
        ['10:40:00', 8000 * W],
        ['11:30:00', 9500 * W],
        ['13:10:00', 9000 * W],
        ['13:25:00', 5000 * W],
        ['13:35:00', 3000 * W],
        ['13:40:00', 2500 * W],
        ['13:43:00', 2100 * W],
        ['13:44:00', 1800 * W],
        ['13:45:00', 1850 * W],
        ['13:46:00', 2600 * W],
        ['13:50:00', 4500 * W],
        ['14:05:00', 1 * Y],
        ['14:57:00', 1.2 * Y],
      ],
    },
    closeVolume: 2_140_000,
  },
  {
    key: 'd',
    symbol: '002846.SZ',
    name: '英联股份',
    prevClose: '9.79',
    position: 10_000,
    floatShares: 200_640_000,
    scenario:
      '一字板: the opening auction settles at the limit with a huge seal (~4.8亿) and the board never opens',
    open: 1077,
    openVolume: 1_583_200,
    price: [],
    seal: {
      side: 'up',
      from: '09:25:00',
      activity: 0.55,
      fills: 0.25,
      amount: [
        ['09:25:00', 4.8 * Y],
        ['10:00:00', 5.6 * Y],
        ['11:30:00', 5.2 * Y],
        ['14:00:00', 4.3 * Y],
        ['14:57:00', 4.5 * Y],
      ],
    },
    closeVolume: 188_900,
  },
  {
    key: 'e',
    symbol: '002812.SZ',
    name: '恩捷股份',
    prevClose: '155.74',
    position: 0,
    floatShares: 886_390_000,
    scenario:
      'limit-down seal (封跌停): slides from the open, sealed at the limit-down from 10:31 (last = ask1 = limit-down, no bids) to the close',
    open: 15100,
    openVolume: 52_300,
    price: [
      ['09:30:00', 15100],
      ['09:50:00', 14810],
      ['10:10:00', 14520],
      ['10:25:00', 14260],
      ['10:30:57', 14090],
    ],
    seal: {
      side: 'down',
      from: '10:31:00',
      activity: 0.7,
      fills: 0.8,
      amount: [
        ['10:31:00', 3000 * W],
        ['10:45:00', 1.2 * Y],
        ['11:30:00', 1.8 * Y],
        ['14:57:00', 2.3 * Y],
      ],
    },
    closeVolume: 24_100,
  },
  {
    key: 'f',
    symbol: '600126.SH',
    name: '杭钢股份',
    prevClose: '6.35',
    position: 10_000,
    floatShares: 3_377_189_083,
    scenario:
      'through the opening call auction: indicative price wanders 09:15-09:20, settles 09:20-09:25, opens 6.52; climbs in continuous trading and seals at the limit-up at 10:40',
    open: 652,
    openVolume: 2_315_800,
    price: [
      ['09:30:00', 652],
      ['09:50:00', 664],
      ['10:10:00', 673],
      ['10:25:00', 686],
      ['10:39:57', 696],
    ],
    seal: {
      side: 'up',
      from: '10:40:00',
      activity: 0.75,
      fills: 1,
      amount: [
        ['10:40:00', 4000 * W],
        ['10:50:00', 6000 * W],
        ['11:30:00', 8000 * W],
        ['14:57:00', 9000 * W],
      ],
    },
    closeVolume: 3_020_000,
  },
];
