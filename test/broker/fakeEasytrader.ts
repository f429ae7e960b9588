/**
 * easytrader's remote server (shidenggui/easytrader @ def5a8e, easytrader/server.py) on
 * 127.0.0.1:0, driving a scripted 同花顺 universal_client. What it reproduces, and from where:
 *
 * - server.py `error_handle`: EVERY Python exception becomes HTTP 400
 *   `{"error": "<class 'X'>: str(e)"}` — including ones raised after the order was entered.
 * - server.py: one trader in `global_store["user"]`, set only by POST /prepare (201
 *   `{"msg": "login success"}`); any route before it raises `KeyError: 'user'`, i.e.
 *   `{"error": "<class 'KeyError'>: 'user'"}`.
 * - clienttrader.py `trade` → `_handle_pop_dialogs(TradePopDialogHandler)` →
 *   pop_dialog_handler.py: a "提示" dialog containing 成功 returns
 *   `{"entrust_no": re.search(r"[\da-zA-Z]+", content).group()}` — when the text holds no
 *   alphanumeric run, `.group()` on None raises AttributeError AFTER the order was entered
 *   (mode 'success-no-number'); any other "提示" raises `TradeError(content)` (exceptions.py:
 *   `class TradeError(IOError)`), i.e. a 同花顺 rejection (mode 'trade-error'); no dialog with
 *   an id at all returns `{"message": "success"}` (docs/usage.md: "如果没配的话默认返回").
 * - A GUI failure before the order form was submitted (pywinauto's ElementNotFoundError while
 *   switching menus) is the same 400 shape with nothing entered (mode 'gui-error').
 * - today_entrusts: the grid copied to the clipboard and read by pandas with GRID_DTYPE
 *   (config/client.py: 合同编号 and 证券代码 stay strings; 委托价格 is a float; 委托时间 text).
 *   docs/usage.md shows the columns. The time is the broker's, i.e. the market's: `now`.
 * - cancel_entrust: a row whose 合同编号 equals the string given, else clienttrader.py's
 *   `{"message": "委托单状态错误不能撤单, 该委托单可能已经成交或者已撤"}` (201).
 * - Unknown routes: Flask's HTML 404.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatExchangeTime } from '../../src/domain/time.ts';

export type SellMode =
  | 'ok'
  | 'hang'
  | 'hang-unrecorded'
  | 'success-no-id'
  | 'success-no-number'
  | 'trade-error'
  | 'gui-error'
  | 'miniqmt-fail';

export interface FakeEasytrader {
  url: string;
  sells: unknown[];
  cancels: unknown[];
  /** What a cancel that worked answers (clienttrader.py: "success", or the 提示 dialog's text). */
  cancelMessage: string;
  paths: string[];
  entrusts: Array<Record<string, unknown>>;
  mode: SellMode[];
  /** server.py's global_store["user"] is set (someone POSTed /prepare). */
  prepared: boolean;
  /** At each /sell: did the intent file already hold the intent? */
  intentOnDisk: boolean[];
  maxActive: number;
  /** What the next /sell's 提示 dialog says on 'trade-error'. */
  rejection: string;
  close(): Promise<void>;
}

export interface FakeEasytraderOptions {
  /** The broker's clock (委托时间); default the wall clock. */
  now?: () => number;
  /** easytrader.json of the adapter under test, to check the intent precedes /sell. */
  intentFile?: string;
}

export const TRADE_ERROR_CLASS = "<class 'easytrader.exceptions.TradeError'>";

export async function startFakeEasytrader(opts: FakeEasytraderOptions = {}): Promise<FakeEasytrader> {
  const now = opts.now ?? Date.now;
  const hhmmss = (): string => formatExchangeTime(now()).slice(11, 19);
  let active = 0;
  let next = 1234567;
  const hung: ServerResponse[] = [];
  const f = {
    sells: [] as unknown[],
    cancels: [] as unknown[],
    cancelMessage: 'success',
    paths: [] as string[],
    mode: [] as SellMode[],
    prepared: true,
    intentOnDisk: [] as boolean[],
    maxActive: 0,
    rejection: '可用股份不足',
    entrusts: [
      {
        委托时间: '09:31:02',
        证券代码: '600000',
        证券名称: '浦发银行',
        操作: '卖出',
        委托数量: 500,
        成交数量: 500,
        委托价格: 8.1,
        成交均价: 8.1,
        合同编号: '1000001',
        状态说明: '已成',
      },
      {
        委托时间: '09:32:10',
        证券代码: '600000',
        证券名称: '浦发银行',
        操作: '卖出',
        委托数量: 500,
        成交数量: 200,
        委托价格: 8.2,
        成交均价: 8.2,
        合同编号: '1000002',
        状态说明: '部成',
      },
      {
        委托时间: '09:33:00',
        证券代码: '000001',
        证券名称: '平安银行',
        操作: '买入',
        委托数量: 100,
        成交数量: 0,
        委托价格: 11.0,
        成交均价: 0,
        合同编号: '1000003',
        状态说明: '已撤',
      },
      {
        委托时间: '09:34:00',
        证券代码: '688001',
        证券名称: '华兴源创',
        操作: '卖出',
        委托数量: 200,
        成交数量: 0,
        委托价格: 30.5,
        成交均价: 0,
        合同编号: '1000004',
        状态说明: '废单',
      },
    ] as Array<Record<string, unknown>>,
  };
  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  /** server.py error_handle: `"{}: {}".format(e.__class__, e)`, HTTP 400. */
  const pyError = (res: ServerResponse, cls: string, text: string): void =>
    send(res, 400, { error: `<class '${cls}'>: ${text}` });

  const handler = async (req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> => {
    const path = req.url ?? '';
    f.paths.push(`${req.method} ${path}`);
    await new Promise((r) => setTimeout(r, 15)); // the GUI takes its time
    const known = [
      'POST /prepare',
      'GET /balance',
      'GET /position',
      'GET /today_entrusts',
      'GET /today_trades',
      'GET /cancel_entrusts',
      'POST /buy',
      'POST /sell',
      'POST /cancel_entrust',
      'GET /exit',
    ];
    if (!known.includes(`${req.method} ${path}`)) {
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        '<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n',
      );
      return;
    }
    if (path === '/prepare') {
      f.prepared = true;
      return send(res, 201, { msg: 'login success' });
    }
    if (!f.prepared) return pyError(res, 'KeyError', "'user'");
    if (path === '/balance')
      return send(res, 200, { 资金余额: 500000.0, 可用金额: 480000.5, 可取金额: 480000.5, 总资产: 580200.5 });
    if (path === '/position') {
      return send(res, 200, [
        {
          证券代码: '002116',
          证券名称: '中国海诚',
          股票余额: 10000,
          可用余额: 10000,
          参考成本价: 9.5,
          市价: 10.02,
          市值: 100200.0,
          'Unnamed: 15': '',
        },
        {
          证券代码: '600000',
          证券名称: '浦发银行',
          股票余额: 1000,
          可用余额: 300,
          参考成本价: 8.0,
          市价: 8.15,
          市值: 8150.0,
        },
        {
          证券代码: '000001',
          证券名称: '平安银行',
          股票余额: 0,
          可用余额: 0,
          参考成本价: 0,
          市价: 11.0,
          市值: 0,
        },
      ]);
    }
    if (path === '/today_entrusts') return send(res, 200, f.entrusts);
    if (path === '/sell') {
      const body = JSON.parse(raw) as { security: string; price: number; amount: number };
      f.sells.push(body);
      f.intentOnDisk.push(
        !!opts.intentFile &&
          existsSync(opts.intentFile) &&
          readFileSync(opts.intentFile, 'utf8').includes('"sending"'),
      );
      const mode = f.mode.shift() ?? 'ok';
      if (mode === 'gui-error')
        return pyError(
          res,
          'pywinauto.findwindows.ElementNotFoundError',
          "{'control_id': 129, 'class_name': 'SysTreeView32', 'top_level_only': False, 'parent': <win32_element_info.HwndElementInfo - '网上股票交易系统5.0', Afx:400000:0, 263442>}",
        );
      // The 提示 dialog of a refused order: TradeError(content) before anything is entered.
      if (mode === 'trade-error') return pyError(res, 'easytrader.exceptions.TradeError', f.rejection);
      if (mode === 'miniqmt-fail') return send(res, 201, { entrust_no: -1 });
      const no = String(next++);
      if (mode !== 'hang-unrecorded') {
        f.entrusts.push({
          委托时间: hhmmss(),
          证券代码: body.security,
          证券名称: '中国海诚',
          操作: '卖出',
          委托数量: body.amount,
          成交数量: 0,
          委托价格: body.price,
          成交均价: 0,
          合同编号: no,
          状态说明: '已报',
        });
      }
      if (mode === 'hang' || mode === 'hang-unrecorded') {
        hung.push(res);
        return;
      }
      // Entered; the success dialog ("委托已成功提交") has no number for re.search to find.
      if (mode === 'success-no-number')
        return pyError(res, 'AttributeError', "'NoneType' object has no attribute 'group'");
      if (mode === 'success-no-id') return send(res, 201, { message: 'success' });
      return send(res, 201, { entrust_no: no });
    }
    if (path === '/cancel_entrust') {
      const body = JSON.parse(raw) as { entrust_no: unknown };
      f.cancels.push(body);
      const row = f.entrusts.find((e) => e['合同编号'] === body.entrust_no);
      if (!row || row['状态说明'] === '已成' || row['状态说明'] === '已撤') {
        return send(res, 201, { message: '委托单状态错误不能撤单, 该委托单可能已经成交或者已撤' });
      }
      // The counter's word for a cancel after a partial fill is 部撤 (statusMap.ts THS texts).
      row['状态说明'] = Number(row['成交数量']) > 0 ? '部撤' : '已撤';
      return send(res, 201, { message: f.cancelMessage });
    }
    send(res, 200, []);
  };
  const server: Server = createServer((req, res) => {
    active++;
    f.maxActive = Math.max(f.maxActive, active);
    res.on('close', () => active--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void handler(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return Object.assign(f, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const r of hung) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  });
}
