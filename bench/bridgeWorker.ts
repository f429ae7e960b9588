/**
 * The fake bridge of the poll-to-POST row in a thread of its own, as the real bridge is another
 * process: its handler runs when the POST arrives, not when the guard's event loop is next free
 * (in-process it waited on whatever the guard did after the call: the orders.json rewrite, the
 * journal, the held alerts). Each sell POST is reported with its arrival time on the shared
 * clock (performance.timeOrigin + performance.now()).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startFakeBridge } from '../test/broker/fakeBridge.ts';

const bridge = await startFakeBridge();
bridge.positions = (workerData as { positions: Record<string, unknown>[] }).positions;
const push = bridge.log.push.bind(bridge.log);
bridge.log.push = (...items) => {
  for (const it of items)
    if (it.method === 'POST' && it.path === '/v1/orders')
      parentPort!.postMessage({
        order: String((it.body as { symbol?: string }).symbol),
        at: performance.timeOrigin + performance.now(),
      });
  return push(...items);
};
parentPort!.on('message', (m: { close?: boolean }) => {
  if (m.close) void bridge.close().then(() => process.exit(0));
});
parentPort!.postMessage({ url: bridge.url, token: bridge.token });
