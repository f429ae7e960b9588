/**
 * One place that turns BROKER=... into a broker: `start` builds it with createBroker, `doctor`
 * asks checkBroker, and each adapter's own static check says what is wrong and how to fix it.
 * Adapters other than paper are loaded only when configured (resident memory on every install).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PtradeRelayBroker } from './ptradeRelay.ts';
import type { Config } from '../config.ts';
import type { CheckOptions, CheckResult } from '../domain/check.ts';
import { SystemClock, type Clock } from '../domain/clock.ts';
import type { Broker } from './broker.ts';
import type { EastmoneyBrokerOptions } from './eastmoney.ts';
import { PaperBroker, type PaperStartPosition } from './paper.ts';

export interface BrokerContext {
  dataDir: string;
  clock: Clock;
  wall: () => number;
  /** Where the eastmoney adapter reports its session's trouble. */
  health: NonNullable<EastmoneyBrokerOptions['health']>;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void };
  /** The paper broker's holdings when the run gives its own (the demo's). */
  paperPositions?: PaperStartPosition[];
  /** A login prompt (东方财富 captcha / SMS) for the chat; loggedIn when a login just succeeded. */
  onLoginPrompt?: (p: { broker: string; text: string; file?: string; loggedIn?: boolean }) => void;
  onPaperError?: (err: Error) => void;
}

export interface BuiltBroker {
  broker: Broker;
  /** The paper broker, which also takes every quote (QuoteSink). */
  paper?: PaperBroker;
  /** Requests the broker serves on SealGuard's HTTP port (the PTrade relay). */
  http?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** The PTrade relay, which also receives the strategy's quote posts (QUOTE_SOURCES=ptrade). */
  relay?: PtradeRelayBroker;
}

export async function createBroker(config: Config, ctx: BrokerContext): Promise<BuiltBroker> {
  const { dataDir, clock } = ctx;
  switch (config.broker.kind) {
    case 'paper': {
      const positions =
        ctx.paperPositions ??
        config.paper.positions.map((p) => ({ symbol: p.symbol, quantity: p.shares, sellable: p.shares }));
      const paper = await PaperBroker.open({
        dataDir,
        clock,
        positions,
        cash: config.paper.cash ?? 1_000_000,
        ...(ctx.onPaperError ? { onError: ctx.onPaperError } : {}),
      });
      return { broker: paper, paper };
    }
    case 'bridge': {
      const { BridgeBroker } = await import('./bridge.ts');
      return {
        broker: new BridgeBroker({
          url: config.broker.url!,
          token: config.broker.token!,
          ...(config.broker.accountType ? { accountType: config.broker.accountType } : {}),
        }),
      };
    }
    case 'easytrader': {
      const { EasytraderBroker } = await import('./easytrader.ts');
      return { broker: await EasytraderBroker.open({ url: config.broker.url!, dataDir, clock }) };
    }
    case 'eastmoney': {
      const { EastmoneyBroker } = await import('./eastmoney.ts');
      const broker = await EastmoneyBroker.open({
        ...config.eastmoney!,
        dataDir,
        clock,
        wallNow: ctx.wall,
        health: ctx.health,
        log: ctx.log,
        prompt: (p) => ctx.onLoginPrompt?.({ broker: 'eastmoney', ...p }),
      });
      return { broker };
    }
    case 'ptrade': {
      const { PtradeRelayBroker } = await import('./ptradeRelay.ts');
      // Relay liveness is protocol time: the strategy polls on the real clock.
      const relay = new PtradeRelayBroker({ token: config.broker.token!, clock: new SystemClock(ctx.wall) });
      return { broker: relay, http: relay.handle, relay };
    }
  }
}

/** doctor's question to the configured broker: read-only, within the deadline. */
export async function checkBroker(config: Config, c: CheckOptions): Promise<CheckResult> {
  const name = `broker ${config.broker.kind}`;
  switch (config.broker.kind) {
    case 'paper':
      return { name, ok: true, detail: 'paper trading: simulated fills, nothing reaches a real account' };
    case 'ptrade': {
      const port = config.httpPort ?? 8080;
      return {
        name,
        ok: true,
        detail:
          `SealGuard hosts the relay itself on port ${port} while it runs; the PTrade strategy must reach ` +
          `http://<this machine>:${port} (open the port to the PTrade server and use the same BROKER_TOKEN)`,
      };
    }
    case 'bridge':
      return (await import('./bridge.ts')).BridgeBroker.check(
        {
          url: config.broker.url!,
          token: config.broker.token!,
          ...(config.broker.accountType ? { accountType: config.broker.accountType } : {}),
        },
        c,
      );
    case 'easytrader':
      return (await import('./easytrader.ts')).EasytraderBroker.check({ url: config.broker.url! }, c);
    case 'eastmoney':
      return (await import('./eastmoneySession.ts')).checkEastmoney(config.eastmoney!, config.dataDir, c);
  }
}
