/**
 * A BRIDGE-PROTOCOL.md v1 server on 127.0.0.1:0 for the bridge client's tests: real HTTP, real
 * idempotency (same key + same body → 200 replayed, different body → 409), and scripted faults
 * for the next POSTs ('503', '504', 'hang', 'reset', '401', '422').
 *
 * The answers that break after the order was placed follow what really sits in front of or
 * inside a bridge: our QMT bridge (bridges/qmt/qmt_bridge/server.py, http.server) writes the
 * status line and headers before the body, so a failure while writing leaves a 201 with an empty
 * or cut body; a reverse proxy (nginx) in front answers its own HTML pages ("502 Bad Gateway",
 * "504 Gateway Time-out") while the bridge behind it went on and placed the order. The 409
 * ORDER_IN_FLIGHT is the protocol's answer to a duplicate while the first is still with the
 * broker. '422-echo' is a debug/proxy error body that quotes the request headers, token included.
 *
 * Orders stay open until the test fills them (`fill`) or cancels them. A cancel follows
 * BRIDGE-PROTOCOL.md (`202 pending_cancel`, final state read back by GET) and the QMT bridge's
 * cancel semantics (bridges/qmt/README.md on branch qmt2: a cancel's outcome is settled by
 * `GET /v1/orders/{id}`; `partially_cancelled` carries the traded quantity): the "exchange"
 * confirms a pending cancel on the next GET of that order. Scripted cancel faults: '504' (the
 * cancel reached the counter, the answer did not), '504-lost' (it did not reach it), '422' (the
 * counter refused the cancel of a live order).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | '503'
  | '504'
  | 'hang'
  | 'reset'
  | '422'
  | '201-empty'
  | '201-html'
  | '201-truncated'
  | '409-in-flight'
  | '502-html'
  | '504-unplaced'
  | '422-echo'
  | '504-echo';

/** nginx's own error page (ngx_http_special_response.c), as a proxy in front of a bridge sends it. */
export const nginxPage = (code: number, reason: string): string =>
  `<html>\r\n<head><title>${code} ${reason}</title></head>\r\n<body>\r\n<center><h1>${code} ${reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;

export type CancelFault = '504' | '504-lost' | '422';

export interface Logged {
  method: string;
  path: string;
  idempotencyKey?: string;
  auth?: string;
  body?: unknown;
}

export interface FakeBridge {
  url: string;
  token: string;
  log: Logged[];
  /** Orders the fake "broker" actually received, by client order id. */
  orders: Map<string, Record<string, unknown>>;
  /** Faults applied to the next POST /v1/orders, in order. A '504' still places the order. */
  faults: Fault[];
  /** Applied to every POST /v1/orders once `faults` is empty (a bridge that stays broken). */
  stuck?: Fault;
  /** When true, GET /v1/orders/{id} answers 404 even for known orders (a bridge that lags). */
  lagging: boolean;
  /** What GET /v1/positions answers (wire format); tests may replace it. */
  positions: Record<string, unknown>[];
  /** `account_type` on /v1/health (the QMT bridge's --account-type); absent when undefined. */
  accountType?: string;
  /** Faults applied to the next POST /v1/orders/{id}/cancel, in order. */
  cancelFaults: CancelFault[];
  /** When false, a pending cancel stays pending (the counter has not confirmed it). Default true. */
  confirmCancels: boolean;
  /** The exchange fills `qty` more shares of an open order at `price` (e.g. "10.00"). */
  fill(id: string, qty: number, price: string): void;
  close(): Promise<void>;
}

export async function startFakeBridge(token = 'test-token-s3cret'): Promise<FakeBridge> {
  const state: Omit<FakeBridge, 'url' | 'close' | 'fill'> = {
    token,
    log: [],
    orders: new Map(),
    faults: [],
    cancelFaults: [],
    confirmCancels: true,
    lagging: false,
    positions: [
      {
        symbol: '002116.SZ',
        name: '中国海诚',
        quantity: 10000,
        sellable_quantity: 10000,
        avg_cost: '9.50',
        last_price: '10.02',
        market_value: '100200.00',
      },
    ],
  };
  const bodies = new Map<string, string>();
  let seq = 100;
  const find = (id: string): Record<string, unknown> | undefined =>
    [...state.orders.values()].find((x) => x.client_order_id === id || x.broker_order_id === id);
  const fill = (id: string, qty: number, price: string): void => {
    const o = find(id);
    if (!o) throw new Error(`fake bridge: no order ${id}`);
    const filled = Number(o.filled_quantity) + qty;
    if (filled > Number(o.quantity)) throw new Error(`fake bridge: overfill of ${id}`);
    o.filled_quantity = filled;
    o.avg_fill_price = price;
    o.status = filled === Number(o.quantity) ? 'filled' : 'partially_filled';
  };

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readBody(req);
    const path = (req.url ?? '').split('?')[0] as string;
    const entry: Logged = { method: req.method ?? '', path };
    if (req.headers['idempotency-key']) entry.idempotencyKey = String(req.headers['idempotency-key']);
    if (req.headers.authorization) entry.auth = req.headers.authorization;
    if (raw) entry.body = JSON.parse(raw);
    state.log.push(entry);

    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const fail = (status: number, code: string, message: string): void =>
      send(status, { error: { code, message, retryable: status === 503 } });

    if (req.headers.authorization !== `Bearer ${state.token}`) return fail(401, 'UNAUTHORIZED', 'bad token');

    if (req.method === 'GET' && path === '/v1/health') {
      return send(200, {
        status: 'ok',
        broker: 'qmt',
        connected: true,
        account_id: '****0365',
        trading_day: '2026-11-24',
        server_time: '2026-11-24T10:01:02+08:00',
        ...(state.accountType ? { account_type: state.accountType } : {}),
      });
    }
    if (req.method === 'GET' && path === '/v1/account') {
      return send(200, {
        account_id: '****0365',
        total_asset: '1023456.78',
        cash_available: '500000.00',
        market_value: '523456.78',
      });
    }
    if (req.method === 'GET' && path === '/v1/positions') {
      return send(200, { positions: state.positions });
    }
    if (req.method === 'POST' && path === '/v1/orders') {
      const fault = state.faults.shift() ?? state.stuck;
      if (fault === '503') return fail(503, 'BROKER_DISCONNECTED', 'QMT not connected');
      if (fault === '422') return fail(422, 'INSUFFICIENT_POSITION', 'sellable 5000 < 10000');
      if (fault === '422-echo')
        return fail(
          422,
          'BROKER_REJECTED',
          `rejected; request was POST /v1/orders headers={"Authorization": "${req.headers.authorization ?? ''}", "Idempotency-Key": "${entry.idempotencyKey ?? ''}"}`,
        );
      if (fault === '504-unplaced') {
        res.writeHead(504, { 'content-type': 'text/html' });
        res.end(nginxPage(504, 'Gateway Time-out'));
        return;
      }
      if (fault === 'reset') {
        req.socket.destroy();
        return;
      }
      const body = JSON.parse(raw) as Record<string, unknown>;
      const key = entry.idempotencyKey ?? '';
      const known = bodies.get(key);
      if (known !== undefined) {
        if (known !== raw) return fail(409, 'IDEMPOTENCY_CONFLICT', 'same key, different body');
        const o = state.orders.get(key)!;
        return send(200, {
          client_order_id: key,
          broker_order_id: o.broker_order_id,
          status: 'submitted',
          replayed: true,
        });
      }
      bodies.set(key, raw);
      const order = {
        client_order_id: key,
        broker_order_id: String(++seq),
        symbol: body.symbol,
        side: 'sell',
        quantity: body.quantity,
        filled_quantity: 0,
        avg_fill_price: null,
        limit_price: body.limit_price,
        status: 'submitted',
        updated_at: '2026-11-24T10:01:02+08:00',
      };
      state.orders.set(key, order);
      if (fault === '504') return fail(504, 'OUTCOME_UNKNOWN', 'broker did not answer in time');
      if (fault === '504-echo')
        return fail(
          504,
          'OUTCOME_UNKNOWN',
          `no answer from QMT for request with headers Authorization: ${req.headers.authorization ?? ''}`,
        );
      if (fault === 'hang') return; // placed, never answered
      if (fault === '409-in-flight') return fail(409, 'ORDER_IN_FLIGHT', 'order is being placed');
      if (fault === '201-empty') {
        res.writeHead(201, { 'content-type': 'application/json', 'content-length': '0' });
        res.end();
        return;
      }
      if (fault === '201-html') {
        res.writeHead(201, { 'content-type': 'text/html' });
        res.end('<html><body><h1>Created</h1></body></html>');
        return;
      }
      if (fault === '201-truncated') {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(`{"client_order_id":"${key}","broker_or`);
        return;
      }
      if (fault === '502-html') {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end(nginxPage(502, 'Bad Gateway'));
        return;
      }
      return send(201, {
        client_order_id: key,
        broker_order_id: order.broker_order_id,
        status: 'submitted',
        replayed: false,
      });
    }
    const m = /^\/v1\/orders\/([^/]+)(\/cancel)?$/.exec(path);
    if (m) {
      const id = decodeURIComponent(m[1] as string);
      const o = find(id);
      if (!o || (state.lagging && !m[2])) return fail(404, 'ORDER_NOT_FOUND', `no order ${id}`);
      if (req.method === 'GET' && !m[2]) {
        if (o.status === 'pending_cancel' && state.confirmCancels)
          o.status = Number(o.filled_quantity) > 0 ? 'partially_cancelled' : 'cancelled';
        return send(200, o);
      }
      if (req.method === 'POST' && m[2]) {
        if (['filled', 'cancelled', 'partially_cancelled', 'rejected'].includes(String(o.status)))
          return fail(422, 'NOT_CANCELLABLE', `order ${id} is ${String(o.status)}`);
        const cf = state.cancelFaults.shift();
        if (cf === '504-lost') return fail(504, 'OUTCOME_UNKNOWN', 'cancel: broker did not answer in time');
        if (cf === '422') return fail(422, 'BROKER_REJECTED', 'cancel refused by the counter');
        o.status = 'pending_cancel';
        if (cf === '504') return fail(504, 'OUTCOME_UNKNOWN', 'cancel: broker did not answer in time');
        return send(202, { client_order_id: o.client_order_id, status: 'pending_cancel' });
      }
    }
    if (req.method === 'GET' && path === '/v1/orders')
      return send(200, { orders: [...state.orders.values()] });
    fail(404, 'ORDER_NOT_FOUND', `no route ${path}`);
  };

  const server: Server = createServer((req, res) => {
    handler(req, res).catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    fill,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  }) as FakeBridge;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
