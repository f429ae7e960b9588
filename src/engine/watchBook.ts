/**
 * What the user asked to be guarded and how: the watch list (user codes, and holdings unless
 * unwatched), modes, trigger settings, floors and the pause switch, kept in settings.json. The
 * symbols to watch follow the holdings (AccountBook); onChange tells the quote source.
 */
import type { Clock } from '../domain/clock.ts';
import type { Mode } from '../domain/modes.ts';
import { toTicks } from '../domain/prices.ts';
import { parseSymbol } from '../domain/symbols.ts';
import { mergeTriggerConfig, type TriggerConfig } from '../domain/triggers.ts';
import type { JsonStore } from '../store/jsonStore.ts';
import type { AccountBook } from './account.ts';
import type { Settings, TriggerOverrides, Watch } from './state.ts';
import { SealGuardError } from '../domain/errors.ts';

export class UnknownCodeError extends SealGuardError {
  override name = 'UnknownCodeError';
}
export class NotWatchedError extends SealGuardError {
  override name = 'NotWatchedError';
}

export interface WatchBookOptions {
  settings: JsonStore<Settings>;
  account: Pick<AccountBook, 'all' | 'position'>;
  clock: Clock;
  defaultMode: Mode;
  /** DEFAULT_THRESHOLD plus the built-in defaults of the other rules. */
  defaultTriggers: TriggerConfig;
  /** Is this code a real, listed instrument? Resolves its name, or null. */
  lookup?: (symbol: string) => Promise<{ name: string } | null>;
  /** The name in the newest quote of a code, if one came. */
  quotedName?: (symbol: string) => string | undefined;
}

export class WatchBook {
  private readonly listeners = new Set<(symbols: string[]) => void>();

  constructor(private readonly o: WatchBookOptions) {}

  /** Called with the watched symbols whenever they (or the settings) change. */
  onChange(listener: (symbols: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Holdings are watched automatically unless the user unwatched them; user codes always. */
  watchedSymbols(): string[] {
    const set = new Set(Object.keys(this.o.settings.data.watches));
    const ignored = new Set(this.o.settings.data.ignored);
    for (const p of this.o.account.all()) if (p.quantity > 0 && !ignored.has(p.symbol)) set.add(p.symbol);
    return [...set].sort();
  }

  private async updateSettings(mutate: (d: Settings) => void): Promise<void> {
    await this.o.settings.update(mutate);
    this.watchedCache = undefined;
    this.watchedVersion++;
    this.triggerCache.clear();
  }

  private watchedCache: Set<string> | undefined;
  /**
   * Moves on whenever watchedSet() may answer differently: a cache of "is X watched" taken at
   * version v holds while the version is still v.
   */
  watchedVersion = 0;
  private readonly triggerCache = new Map<string, TriggerConfig>();

  /** The watched symbols as a set, cached until settings or holdings change. */
  watchedSet(): Set<string> {
    return (this.watchedCache ??= new Set(this.watchedSymbols()));
  }

  /** Settings or holdings changed: drop derived caches and tell the listeners (the feeds). */
  changed(): void {
    this.watchedCache = undefined;
    this.watchedVersion++;
    this.triggerCache.clear();
    const symbols = this.watchedSymbols();
    for (const l of this.listeners) l(symbols);
  }

  async watch(input: string, patch: { threshold?: number; mode?: Mode }): Promise<Watch> {
    const sec = parseSymbol(input);
    const existing = this.o.settings.data.watches[sec.id];
    let name = existing?.name ?? this.o.quotedName?.(sec.id) ?? this.o.account.position(sec.id)?.name;
    if (!name && this.o.lookup) {
      const found = await this.o.lookup(sec.id);
      if (!found)
        throw new UnknownCodeError(
          `${input}: no such listed code (the quote source does not know ${sec.id})`,
        );
      name = found.name;
    }
    await this.updateSettings((d) => {
      const w: Watch = d.watches[sec.id] ?? { symbol: sec.id, origin: 'user', addedAt: this.o.clock.now() };
      if (name) w.name = name;
      if (patch.mode) w.mode = patch.mode;
      if (patch.threshold !== undefined) w.triggers = { ...w.triggers, amount: patch.threshold };
      w.origin = 'user';
      d.watches[sec.id] = w;
      d.ignored = d.ignored.filter((s) => s !== sec.id);
    });
    this.changed();
    return this.o.settings.data.watches[sec.id]!;
  }

  async unwatch(input: string): Promise<{ symbol: string; wasWatched: boolean; held: boolean }> {
    const sec = parseSymbol(input);
    const wasWatched = this.watchedSymbols().includes(sec.id);
    const held = (this.o.account.position(sec.id)?.quantity ?? 0) > 0;
    await this.updateSettings((d) => {
      delete d.watches[sec.id];
      if (held && !d.ignored.includes(sec.id)) d.ignored.push(sec.id);
    });
    this.changed();
    return { symbol: sec.id, wasWatched, held };
  }

  /** Sets the mode of one watched code, or of all (the global default). */
  async setMode(target: string, mode: Mode): Promise<string[]> {
    if (target === 'all') {
      await this.updateSettings((d) => {
        d.mode = mode;
        for (const w of Object.values(d.watches)) delete w.mode;
      });
      return this.watchedSymbols();
    }
    const sec = parseSymbol(target);
    await this.ensureWatchEntry(sec.id);
    await this.updateSettings((d) => {
      d.watches[sec.id]!.mode = mode;
    });
    return [sec.id];
  }

  async setTriggers(target: string, patch: TriggerOverrides): Promise<TriggerConfig> {
    if (target === 'all') {
      await this.updateSettings((d) => {
        d.triggers = { ...d.triggers, ...patch };
      });
      return this.effectiveTriggers(undefined);
    }
    const sec = parseSymbol(target);
    await this.ensureWatchEntry(sec.id);
    await this.updateSettings((d) => {
      const w = d.watches[sec.id]!;
      w.triggers = { ...w.triggers, ...patch };
    });
    return this.effectiveTriggers(sec.id);
  }

  async setFloor(target: string, floor: string | undefined): Promise<void> {
    const sec = parseSymbol(target);
    if (floor !== undefined) toTicks(floor, sec.decimals);
    await this.ensureWatchEntry(sec.id);
    await this.updateSettings((d) => {
      const w = d.watches[sec.id]!;
      if (floor === undefined) delete w.floor;
      else w.floor = floor;
    });
  }

  /** Holdings are watched without an entry; settings on them create one (origin: holding). */
  private async ensureWatchEntry(symbol: string): Promise<void> {
    if (this.o.settings.data.watches[symbol]) return;
    if (!this.watchedSymbols().includes(symbol))
      throw new NotWatchedError(`${symbol} is not watched: /watch it first`);
    await this.updateSettings((d) => {
      d.watches[symbol] = {
        symbol,
        origin: 'holding',
        addedAt: this.o.clock.now(),
        ...(this.o.account.position(symbol)?.name ? { name: this.o.account.position(symbol)!.name } : {}),
      };
    });
  }

  async setPaused(paused: boolean): Promise<void> {
    await this.updateSettings((d) => {
      d.paused = paused;
    });
  }

  get paused(): boolean {
    return this.o.settings.data.paused;
  }

  modeOf(symbol: string): Mode {
    return this.o.settings.data.watches[symbol]?.mode ?? this.o.settings.data.mode ?? this.o.defaultMode;
  }

  effectiveTriggers(symbol: string | undefined): TriggerConfig {
    if (symbol === undefined) return this.computeTriggers(undefined);
    let t = this.triggerCache.get(symbol);
    if (!t) this.triggerCache.set(symbol, (t = this.computeTriggers(symbol)));
    return t;
  }

  private computeTriggers(symbol: string | undefined): TriggerConfig {
    const g = mergeTriggerConfig(this.o.defaultTriggers, this.o.settings.data.triggers);
    return symbol ? mergeTriggerConfig(g, this.o.settings.data.watches[symbol]?.triggers) : g;
  }
}
