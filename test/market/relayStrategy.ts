/**
 * The REAL PTrade strategy (bridges/ptrade/sealguard_relay.py) in the fake PTrade runtime of
 * bridges/ptrade/tests/ptrade_fakes.py (get_snapshot per the PTrade API doc, zhangwei3211/ptrademd
 * docs/original/Ptrade东莞.md), driven line by line through test/market/relay_strategy.py.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { formatExchangeTime } from '../../src/domain/time.ts';

const STRATEGY = fileURLToPath(new URL('./relay_strategy.py', import.meta.url));
/** bridges/ptrade/tests/ptrade_fakes.py TOKEN: the strategy's RELAY_TOKEN. */
export const TOKEN = 'relay-token-7d3b0c9e51a2';
export const hasPython = spawnSync('python3', ['--version']).status === 0;

/** The PTrade doc's get_snapshot sample (600570.SS), sealed at up_px as get_snapshot shows a seal. */
export function hundsunSealed(at: number, bid1: number): Record<string, unknown> {
  const t = formatExchangeTime(at).replace(/[-T:]/g, '').slice(0, 14);
  return {
    offer_grp: { 1: [0.0, 0, 0, {}], 2: [0.0, 0, 0], 3: [0.0, 0, 0], 4: [0.0, 0, 0], 5: [0.0, 0, 0] },
    open_px: 44.91,
    preclose_px: 45.2,
    hsTimeStamp: Number(`${t}000`),
    low_px: 44.31,
    down_px: 40.68,
    bid_grp: {
      1: [49.72, bid1, 812, {}],
      2: [49.71, 3000, 2],
      3: [0.0, 0, 0],
      4: [0.0, 0, 0],
      5: [0.0, 0, 0],
    },
    business_balance: 274847503.0,
    business_amount: 6161800,
    last_px: 49.72,
    up_px: 49.72,
    high_px: 49.72,
    trade_status: 'TRADE',
  };
}

export interface Strategy {
  snapshot(code: string, snap: Record<string, unknown>): Promise<Answer>;
  tick(): Promise<Answer>;
  position(code: string, amount: number, enableAmount: number, cost: number, last: number): Promise<Answer>;
}
export interface Answer {
  ok: boolean;
  log: string[];
  snapshot_calls: unknown[];
  order_calls: [string, number, number | null][];
}

export function startStrategy(url: string, cleanup: (() => unknown)[]): Strategy {
  const child: ChildProcess = spawn('python3', [STRATEGY, url], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((a: Answer) => void)[] = [];
  lines.on('line', (l) => waiting.shift()?.(JSON.parse(l) as Answer));
  cleanup.push(() => {
    child.stdin!.end();
    if (child.exitCode === null) child.kill();
  });
  const ask = (cmd: unknown) =>
    new Promise<Answer>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`strategy did not answer: ${stderr}`)), 10_000);
      waiting.push((a) => {
        clearTimeout(t);
        resolve(a);
      });
      child.stdin!.write(JSON.stringify(cmd) + '\n');
    });
  return {
    snapshot: (code, snapshot) => ask({ op: 'snapshot', code, snapshot }),
    tick: () => ask({ op: 'tick' }),
    position: (code, amount, enable_amount, cost_basis, last_sale_price) =>
      ask({ op: 'position', code, amount, enable_amount, cost_basis, last_sale_price }),
  };
}
