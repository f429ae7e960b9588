/**
 * What `sealguard doctor` asks of each quote source: one read-only probe with a deadline, a ✓ or
 * a ✗ with a concrete fix. Here, next to the adapters, so a source and its check change together.
 */
import WebSocket from 'ws';
import type { Config } from '../config.ts';
import type { CheckResult } from '../domain/check.ts';
import type { Clock } from '../domain/clock.ts';
import { formatTicks } from '../domain/prices.ts';
import { skewText } from './clockWatch.ts';
import type { ResponseTiming } from './httpClient.ts';
import { isPollingSource, pollingFeed } from './sources.ts';
import { SINA_ORIGIN, SINA_WS_URL, toSinaCode } from './sinaWs.ts';

/** A well-known, always-listed code: 浦发银行. */
const PROBE_SYMBOL = '600000.SH';

export async function checkSource(
  config: Config,
  name: string,
  clock: Clock,
  timeoutMs: number,
  wallNow: () => number = Date.now,
): Promise<CheckResult> {
  const label = `quotes ${name}`;
  if (name === 'sina-ws') return checkSinaWs(config.quotes.sinaWsUrl ?? SINA_WS_URL, timeoutMs);
  if (name === 'qmt') return checkBridgeStream(config, timeoutMs);
  // Inbound: the PTrade strategy posts to the relay, so there is nothing to call from here; the
  // running guard's health (shown below) says whether its posts arrive.
  if (name === 'ptrade')
    return { name: label, ok: true, detail: 'posted by the PTrade strategy to the relay (nothing to probe)' };
  if (!isPollingSource(name))
    return { name: label, ok: false, detail: 'unknown source', fix: 'fix QUOTE_SOURCES' };
  const feed = pollingFeed(name, {
    TENCENT_QUOTE_URL: config.quotes.tencentUrl,
    SINA_QUOTE_URL: config.quotes.sinaUrl,
    EASTMONEY_QUOTE_URL: config.quotes.eastmoneyUrl,
  });
  const started = performance.now();
  try {
    const r = await feed.fetch([PROBE_SYMBOL], undefined, timeoutMs);
    const ms = Math.round(performance.now() - started);
    const skew = dateSkew(r.timing, wallNow);
    if (skew !== null && Math.abs(skew) >= CLOCK_SKEW_ALERT_MS) {
      return {
        name: label,
        ok: false,
        detail: `answered in ${ms} ms, but its Date header says the ${skewText(skew)}`,
        fix: "set the host's time (enable NTP, e.g. timedatectl set-ntp true); the running guard follows the exchange's time meanwhile, but signatures and logs do not",
      };
    }
    const s = r.snapshots.find((x) => x.symbol === PROBE_SYMBOL);
    if (!s) {
      return {
        name: label,
        ok: false,
        detail: `answered in ${ms} ms but had no record for ${PROBE_SYMBOL}`,
        fix: `the source may have changed its format; put another source first in QUOTE_SOURCES and report it`,
      };
    }
    return {
      name: label,
      ok: true,
      detail: `${PROBE_SYMBOL} ${s.name} ${formatTicks(s.last, s.decimals)} in ${ms} ms; ${ageText(clock.now() - s.ts)}`,
    };
  } catch (err) {
    const urlKey = { tencent: 'TENCENT_QUOTE_URL', sina: 'SINA_QUOTE_URL', eastmoney: 'EASTMONEY_QUOTE_URL' }[
      name
    ];
    return {
      name: label,
      ok: false,
      detail: (err as Error).message,
      fix: `check this machine's internet access to ${name} (or ${urlKey}); behind a firewall put a reachable source first in QUOTE_SOURCES`,
    };
  }
}

const CLOCK_SKEW_ALERT_MS = 5_000;

/** Source clock minus host wall clock from one answer's Date header (second resolution: ±1 s). */
function dateSkew(t: ResponseTiming | undefined, wallNow: () => number): number | null {
  if (!t || t.serverDate === null) return null;
  const wallAtMid = wallNow() - (performance.now() - (t.sentAt + t.receivedAt) / 2);
  return t.serverDate + 500 - wallAtMid;
}

/** The bridge's quote stream answers with an event for the probe symbol. */
async function checkBridgeStream(config: Config, timeoutMs: number): Promise<CheckResult> {
  const { BridgeQuoteStream } = await import('../market/bridgeQuotes.ts');
  const started = performance.now();
  const q = new BridgeQuoteStream({ url: config.broker.url ?? '', token: config.broker.token ?? '' });
  let why = 'no answer';
  try {
    const first = await new Promise<{ name: string; last: string } | null>((resolve) => {
      const t = setTimeout(() => resolve(null), timeoutMs);
      q.start(
        [PROBE_SYMBOL],
        (s) => {
          clearTimeout(t);
          resolve({ name: s.name, last: formatTicks(s.last, s.decimals) });
        },
        (state, detail) => {
          if (state === 'closed' && detail) why = detail;
        },
      );
    });
    const ms = Math.round(performance.now() - started);
    if (first) return { name: 'quotes qmt', ok: true, detail: `${PROBE_SYMBOL} ${first.last} in ${ms} ms` };
    return {
      name: 'quotes qmt',
      ok: false,
      detail: `GET /v1/quotes/stream gave no event for ${PROBE_SYMBOL} within ${timeoutMs} ms (${why})`,
      fix: "start the bridge's quote service on the trading PC (BRIDGE_NOT_READY means the terminal's market data is disconnected), or put a web source first in QUOTE_SOURCES",
    };
  } finally {
    await q.stop();
  }
}

function ageText(ms: number): string {
  if (ms < 0) return 'quote time is ahead of the market clock';
  if (ms < 120_000) return `quote ${(ms / 1000).toFixed(1)} s old`;
  return `quote ${Math.round(ms / 60_000)} min old (normal outside trading hours)`;
}

function checkSinaWs(base: string, timeoutMs: number): Promise<CheckResult> {
  const name = 'quotes sina-ws';
  const fix = 'check access to hq.sinajs.cn (or SINA_WS_URL); the polling sources keep working without it';
  return new Promise((resolve) => {
    const started = performance.now();
    let openedMs = 0;
    const ws = new WebSocket(`${base}?list=${toSinaCode(PROBE_SYMBOL)}`, {
      origin: SINA_ORIGIN,
      handshakeTimeout: timeoutMs,
    });
    const done = (r: CheckResult) => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      resolve(r);
    };
    const timer = setTimeout(
      () =>
        done({
          name,
          ok: false,
          detail: openedMs
            ? `connected in ${openedMs} ms but no message within ${timeoutMs} ms`
            : `no connection within ${timeoutMs} ms`,
          fix,
        }),
      timeoutMs,
    );
    ws.on('open', () => (openedMs = Math.round(performance.now() - started)));
    ws.on('message', (data) => {
      const ms = Math.round(performance.now() - started);
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
      const hasRecord = /(sh|sz|bj)\d{6}=/.test(text);
      done({
        name,
        ok: true,
        detail: `connected in ${openedMs} ms, first message after ${ms} ms${hasRecord ? '' : ' (no quote record in it yet)'}`,
      });
    });
    ws.on('error', (err) => done({ name, ok: false, detail: err.message, fix }));
    ws.on('close', (code) =>
      done({ name, ok: false, detail: `closed by the server (${code}) before any message`, fix }),
    );
  });
}
