/**
 * A scripted market served in Tencent's real wire format (GBK bytes, `v_sz002116="51~...";`,
 * field map per ../shared/reference/quotes.md §1.3) and, for failover tests, in Sina's
 * (`var hq_str_sz002116="...";`, §2.3), so end-to-end tests drive the product through its real
 * adapters: the test sets each stock's current book and the servers answer every poll with it.
 *
 * Like the real sites (and every HTTP/1.1 origin server, RFC 9110 §6.6.1) the servers send a
 * `Date` header; a test that plays the exchange at another time than the host's gives `now` so
 * the header tells the exchange's time, as qt.gtimg.cn's does.
 */
import iconv from 'iconv-lite';
import { formatExchangeTime } from '../../src/domain/time.ts';
import { startQuoteServer, type QuoteServer } from '../market/quoteServer.ts';

export interface Book {
  code: string; // "002116"
  exchange: 'sz' | 'sh';
  name: string;
  /** ISO date and time in exchange time: "2026-11-23", "10:00:03". */
  date: string;
  time: string;
  last: string;
  prevClose: string;
  open?: string;
  high?: string;
  low?: string;
  limitUp: string;
  limitDown: string;
  /** [price, lots] best first; at most five. */
  bids: [string, number][];
  asks: [string, number][];
  /** Cumulative volume in lots. */
  volumeLots?: number;
  status?: '' | 'S';
}

function five(levels: [string, number][]): string[] {
  const out: string[] = [];
  for (let i = 0; i < 5; i++) {
    const l = levels[i];
    out.push(l ? l[0] : '0.00', l ? String(l[1]) : '0');
  }
  return out;
}

/** One Tencent record line, as qt.gtimg.cn sends it (field positions per quotes.md §1.3). */
export function tencentLine(b: Book): string {
  const vol = b.volumeLots ?? 100_000;
  const amount = Math.round(vol * 100 * Number(b.last));
  const f: string[] = [
    b.exchange === 'sh' ? '1' : '51',
    b.name,
    b.code,
    b.last,
    b.prevClose,
    b.open ?? b.prevClose,
    String(vol),
    String(Math.floor(vol / 2)),
    String(vol - Math.floor(vol / 2)),
    ...five(b.bids),
    ...five(b.asks),
    '',
    `${b.date.replaceAll('-', '')}${b.time.replaceAll(':', '')}`,
    '0.00',
    '0.00',
    b.high ?? b.last,
    b.low ?? b.prevClose,
    `${b.last}/${vol}/${amount}`,
    String(vol),
    String(Math.round(amount / 10_000)),
    '1.00',
    '20.00',
    b.status ?? '',
    b.high ?? b.last,
    b.low ?? b.prevClose,
    '1.00',
    '40.00',
    '41.00',
    '2.00',
    b.limitUp,
    b.limitDown,
    '1.00',
  ];
  return `v_${b.exchange}${b.code}="${f.join('~')}";`;
}

/** One Sina record line, as hq.sinajs.cn sends it: volumes in shares, book as volume,price. */
export function sinaLine(b: Book): string {
  const p3 = (x: string) => Number(x).toFixed(3);
  const side = (levels: [string, number][]) => {
    const out: string[] = [];
    for (let i = 0; i < 5; i++) {
      const l = levels[i];
      out.push(l ? String(l[1] * 100) : '0', l ? p3(l[0]) : '0.000');
    }
    return out;
  };
  const vol = (b.volumeLots ?? 100_000) * 100;
  const f = [
    b.name,
    p3(b.open ?? b.prevClose),
    p3(b.prevClose),
    p3(b.last),
    p3(b.high ?? b.last),
    p3(b.low ?? b.prevClose),
    p3(b.bids[0]?.[0] ?? '0'),
    p3(b.asks[0]?.[0] ?? '0'),
    String(vol),
    (vol * Number(b.last)).toFixed(3),
    ...side(b.bids),
    ...side(b.asks),
    b.date,
    b.time,
    b.status === 'S' ? '03' : '00',
  ];
  return `var hq_str_${b.exchange}${b.code}="${f.join(',')}";`;
}

export interface MarketOptions {
  /** The exchange's time for the Date header; the host's when absent. */
  now?: () => number;
}

export interface TencentMarket extends QuoteServer {
  set(book: Book): void;
  books: Map<string, Book>;
  /** While true, every answer is sent one byte a second after prompt headers (issue 16 item 4). */
  trickle: boolean;
}

type Books = Map<string, Book>;

async function serve(
  books: Books,
  opts: MarketOptions,
  query: RegExp,
  line: (b: Book) => string,
  none: string,
  state: { trickle: boolean },
) {
  const timers = new Set<NodeJS.Timeout>();
  const server = await startQuoteServer((req, res) => {
    const q = decodeURIComponent(req.url ?? '').replace(query, '');
    const lines = q
      .split(',')
      .map((c) => books.get(c.trim()))
      .filter((b): b is Book => !!b)
      .map(line);
    const body = iconv.encode(lines.length ? lines.join('\n') + '\n' : none, 'gbk');
    const headers: Record<string, string> = { 'content-type': 'text/html; charset=GBK' };
    if (opts.now) headers.date = new Date(opts.now()).toUTCString();
    if (!state.trickle) return res.writeHead(200, headers).end(body);
    res.writeHead(200, headers);
    let i = 0;
    const t = setInterval(() => {
      if (res.destroyed || i >= body.length) {
        clearInterval(t);
        timers.delete(t);
        if (!res.destroyed) res.end();
        return;
      }
      res.write(body.subarray(i, ++i));
    }, 1000);
    timers.add(t);
    res.on('close', () => {
      clearInterval(t);
      timers.delete(t);
    });
  });
  const close = server.close;
  server.close = () => {
    for (const t of timers) clearInterval(t);
    return close();
  };
  return server;
}

function market(books: Books, server: QuoteServer, state: { trickle: boolean }): TencentMarket {
  return Object.defineProperties(
    Object.assign(server, {
      books,
      set(book: Book) {
        books.set(`${book.exchange}${book.code}`, book);
      },
    }),
    {
      trickle: {
        get: () => state.trickle,
        set: (v: boolean) => void (state.trickle = v),
        enumerable: true,
      },
    },
  ) as TencentMarket;
}

/** Serves the current books for whichever codes are requested (`/q=sz002116,sh600519`). */
export async function startTencentMarket(
  opts: MarketOptions = {},
  books: Books = new Map(),
): Promise<TencentMarket> {
  const state = { trickle: false };
  const server = await serve(books, opts, /^.*q=/, tencentLine, 'v_pv_none_match="1";\n', state);
  return market(books, server, state);
}

/** The same books in Sina's format (`/list=sz002116,sh600519`); pass a Tencent market's books to share them. */
export async function startSinaMarket(
  opts: MarketOptions = {},
  books: Books = new Map(),
): Promise<TencentMarket> {
  const state = { trickle: false };
  // Sina answers an unknown code with an empty record, never a bare "no match" body.
  const server = await serve(books, opts, /^.*list=/, sinaLine, 'var hq_str_sz000000="";\n', state);
  return market(books, server, state);
}

/**
 * 中国海诚 002116 (prevClose 9.09, limits 10.00 / 8.18) sealed at the limit with `lots` on bid1,
 * stamped at market time `at`: the stock the end-to-end confirm tests drain.
 */
export function sealedBook(at: number, lots: number): Book {
  const iso = formatExchangeTime(at);
  return {
    code: '002116',
    exchange: 'sz',
    name: '中国海诚',
    date: iso.slice(0, 10),
    time: iso.slice(11, 19),
    last: '10.00',
    prevClose: '9.09',
    high: '10.00',
    low: '9.10',
    limitUp: '10.00',
    limitDown: '8.18',
    bids: [
      ['10.00', lots],
      ['9.99', 400],
    ],
    asks: [],
  };
}
