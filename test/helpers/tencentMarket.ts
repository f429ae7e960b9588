/**
 * A scripted market served in Tencent's real wire format (GBK bytes, `v_sz002116="51~...";`), so
 * end-to-end tests drive the product through its real adapter: the test sets each stock's
 * current book and the server answers every poll with it.
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

export interface TencentMarket extends QuoteServer {
  set(book: Book): void;
  books: Map<string, Book>;
}

/** Serves the current books for whichever codes are requested (`/q=sz002116,sh600519`). */
export async function startTencentMarket(): Promise<TencentMarket> {
  const books = new Map<string, Book>();
  const server = await startQuoteServer((req, res) => {
    const q = decodeURIComponent(req.url ?? '').replace(/^.*q=/, '');
    const lines = q
      .split(',')
      .map((c) => books.get(c.trim()))
      .filter((b): b is Book => !!b)
      .map(tencentLine);
    const body = lines.length ? lines.join('\n') + '\n' : 'v_pv_none_match="1";\n';
    res.writeHead(200, { 'content-type': 'text/html; charset=GBK' }).end(iconv.encode(body, 'gbk'));
  });
  return Object.assign(server, {
    books,
    set(book: Book) {
      books.set(`${book.exchange}${book.code}`, book);
    },
  });
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
