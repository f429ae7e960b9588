/**
 * The command language, shared by every channel: `/watch 600519 2000w`, `/trigger 600519 drop 50%`...
 * Parsing is strict: a bad argument gets one line saying what is wrong and an example, and changes
 * nothing. Handlers talk to the engine's API only.
 */
import { formatAmount, parseAmount } from '../domain/amounts.ts';
import { SealGuardError } from '../domain/errors.ts';
import { formatBytes } from '../domain/bytes.ts';
import { parseSymbol } from '../domain/symbols.ts';
import { MODES, isMode, type Mode } from '../domain/modes.ts';
import { TRIGGER_BOUNDS, describeTriggers, type TriggerKey } from '../domain/triggers.ts';
import { InputError } from '../domain/types.ts';
import type { Order } from '../broker/broker.ts';
import type { GuardApi, OrdersView } from '../engine/api.ts';
import { calendarLines } from '../engine/marketDays.ts';
import { NotWatchedError, UnknownCodeError } from '../engine/guard.ts';
import type { Intent, TriggerOverrides } from '../engine/state.ts';
import { reply, type Reply } from './reply.ts';

/**
 * The words `/trigger` accepts for each setting, the first being the one shown in help and errors.
 * Keyed by TriggerKey so a new trigger key cannot be left without a command word.
 */
export const TRIGGER_WORDS: Record<TriggerKey | 'floor', readonly string[]> = {
  amount: ['amount', 'threshold', 'seal'],
  dropFromPeak: ['drop', 'peak', 'dropfrompeak'],
  dropInWindow: ['window', 'dropinwindow'],
  capRatio: ['cap', 'capratio'],
  confirm: ['confirm'],
  onBreak: ['onbreak', 'break'],
  chase: ['chase', 'follow'],
  floor: ['floor'],
};
const TRIGGER_EXAMPLES: Record<TriggerKey | 'floor', string> = {
  amount: '2000w',
  dropFromPeak: '50%',
  dropInWindow: '30%/60s',
  capRatio: '0.5%',
  confirm: '1',
  onBreak: 'on',
  chase: 'off',
  floor: '9.80',
};
const triggerEntries = Object.entries(TRIGGER_WORDS) as [TriggerKey | 'floor', readonly string[]][];
const ruleOf = new Map(triggerEntries.flatMap(([k, words]) => words.map((w) => [w, k] as const)));
const mainWords = triggerEntries.map(([, words]) => words[0]).join(', ');

export interface CommandSpec {
  name: string;
  args: string;
  help: string;
  example: string;
}

export const COMMANDS: CommandSpec[] = [
  {
    name: 'watch',
    args: `<code> <amount> [${MODES.join('|')}]`,
    help: '盯板: sell when the seal drops below the amount',
    example: '/watch 600519 2000w',
  },
  { name: 'unwatch', args: '<code>', help: 'stop watching a code', example: '/unwatch 600519' },
  {
    name: 'list',
    args: '',
    help: 'watched codes: holding, limit-up, seal, triggers, mode',
    example: '/list',
  },
  {
    name: 'mode',
    args: `<code|all> <${MODES.join('|')}>`,
    help: 'auto sells, confirm asks first, alert only tells',
    example: '/mode all confirm',
  },
  {
    name: 'trigger',
    args: '<code|all> <rule> <value>',
    help: `rules: ${triggerEntries.map(([k, words]) => `${words[0]} ${TRIGGER_EXAMPLES[k]}`).join(', ')}; value off disables`,
    example: '/trigger 600519 drop 50%',
  },
  {
    name: 'positions',
    args: '',
    help: 'holdings from the broker (sellable today: T+1)',
    example: '/positions',
  },
  { name: 'balance', args: '', help: 'account balance', example: '/balance' },
  {
    name: 'orders',
    args: '[YYYY-MM-DD]',
    help: "today's sell orders, or an earlier day's from its archive",
    example: '/orders',
  },
  { name: 'summary', args: '[YYYY-MM-DD]', help: 'the day in review', example: '/summary' },
  { name: 'pause', args: '', help: 'pause automatic selling (alerts continue)', example: '/pause' },
  { name: 'resume', args: '', help: 'resume automatic selling', example: '/resume' },
  { name: 'status', args: '', help: 'quote sources, broker, clock, session', example: '/status' },
  {
    name: 'calendar',
    args: '[close|open YYYY-MM-DD [note]]',
    help: 'the next 10 weekdays and whether the market trades; mark a day closed or open',
    example: '/calendar close 2027-02-08 春节',
  },
  {
    name: 'confirm',
    args: '<action id>',
    help: 'sell now for a pending confirm',
    example: '/confirm Ab3dE9xy',
  },
  { name: 'hold', args: '<action id>', help: 'decline a pending confirm', example: '/hold Ab3dE9xy' },
  {
    name: 'captcha',
    args: '<4 digits>',
    help: '东方财富 login: the digits in the captcha picture',
    example: '/captcha 1234',
  },
  {
    name: 'sms',
    args: '<digits>',
    help: '东方财富 SMS verification: phone tail or the texted code, as asked',
    example: '/sms 123456',
  },
  { name: 'login', args: '', help: '东方财富: log in again (after stopped attempts)', example: '/login' },
  { name: 'help', args: '', help: 'this list', example: '/help' },
];

export interface Invocation {
  /** Who sent it, for the audit trail ("telegram:12345"). Authorization happens before this layer. */
  user: string;
  text: string;
}

class UsageError extends SealGuardError {}

function usage(name: string, why: string): never {
  const spec = COMMANDS.find((c) => c.name === name);
  throw new UsageError(`${why}. Example: ${spec?.example ?? '/help'}`);
}

/**
 * Full-width forms (U+FF01–U+FF5E: `６００５１９`, `２０００ｗ`, `５０％`, `／watch`) as the ASCII they
 * stand for, and the ideographic space as a space. A Chinese IME in full-width mode types these,
 * and a trader reads `６００５１９` as 600519. Only this block is mapped: NFKC would also rewrite
 * other characters (circled digits, ligatures) into things the user did not type.
 */
export function halfWidth(text: string): string {
  return text.replace(/[\uFF01-\uFF5E\u3000]/g, (c) =>
    c === '\u3000' ? ' ' : String.fromCharCode(c.charCodeAt(0) - 0xfee0),
  );
}

/**
 * How long ago a quote was stamped. A quote stamped after the process clock (a host clock behind
 * the exchange's, or a simulated clock behind a live feed) is "just now", never a negative age;
 * a difference of more than a second is named, since it points at a wrong clock.
 */
export function quoteAgeText(ageMs: number): string {
  if (ageMs < 0)
    return -ageMs < 1000 ? 'just now' : `just now (stamped ${duration(-ageMs)} ahead of this clock)`;
  return `${duration(ageMs)} ago`;
}

function duration(ms: number): string {
  if (ms < 100_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function parseMode(name: string, s: string | undefined): Mode {
  const m = s?.toLowerCase() ?? '';
  if (!isMode(m))
    usage(
      name,
      `mode must be ${MODES.slice(0, -1).join(', ')} or ${MODES.at(-1)}${s ? ` (got "${s}")` : ''}`,
    );
  return m;
}

function parsePct(name: string, s: string): number {
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(s);
  const v = m ? Number(m[1]) : NaN;
  if (!(v > 0 && v <= TRIGGER_BOUNDS.pctMax))
    usage(name, `"${s}" is not a percentage between 0 and ${TRIGGER_BOUNDS.pctMax}`);
  return v;
}

/** Parses `/trigger` rule + value into a settings patch. */
export function parseTrigger(
  rule: string,
  value: string,
): { patch: TriggerOverrides; floor?: string | null } {
  const key = ruleOf.get(rule.toLowerCase());
  const off = /^(off|none|关|0)$/i.test(value);
  const [wMin, wMax] = TRIGGER_BOUNDS.windowSec;
  const [cMin, cMax] = TRIGGER_BOUNDS.confirm;
  switch (key) {
    case 'amount':
      return { patch: { amount: off ? null : parseAmount(value) } };
    case 'dropFromPeak':
      return { patch: { dropFromPeak: off ? null : parsePct('trigger', value) } };
    case 'dropInWindow': {
      if (off) return { patch: { dropInWindow: null } };
      const m = /^(\d+(?:\.\d+)?)%?\/(\d+)(s|m)?$/i.exec(value);
      if (!m) usage('trigger', `window takes percent/seconds like 30%/60s (got "${value}")`);
      const windowSec = Number(m[2]) * (m[3]?.toLowerCase() === 'm' ? 60 : 1);
      if (windowSec < wMin || windowSec > wMax)
        usage('trigger', `the window must be ${wMin} s to ${wMax / 60} min`);
      return { patch: { dropInWindow: { pct: parsePct('trigger', m[1]!), windowSec } } };
    }
    case 'capRatio':
      return { patch: { capRatio: off ? null : parsePct('trigger', value) } };
    case 'confirm': {
      const n = Number(value);
      if (!Number.isInteger(n) || n < cMin || n > cMax)
        usage('trigger', `confirm takes a count of snapshots ${cMin}-${cMax} (got "${value}")`);
      return { patch: { confirm: n } };
    }
    case 'onBreak': {
      const v = value.toLowerCase();
      if (!['on', 'off', 'true', 'false', 'yes', 'no'].includes(v))
        usage('trigger', `onbreak takes on or off (got "${value}")`);
      return { patch: { onBreak: ['on', 'true', 'yes'].includes(v) } };
    }
    case 'chase': {
      // Follow-through after a break: off leaves an unfilled sell resting; nothing more is sent.
      const v = value.toLowerCase();
      if (!['on', 'off', 'true', 'false', 'yes', 'no'].includes(v))
        usage('trigger', `chase takes on or off (got "${value}")`);
      return { patch: { chase: ['on', 'true', 'yes'].includes(v) } };
    }
    case 'floor':
      if (off) return { patch: {}, floor: null };
      if (!/^\d+(\.\d{1,3})?$/.test(value))
        usage('trigger', `floor takes a price like 9.80 (got "${value}")`);
      return { patch: {}, floor: value };
    case undefined:
      usage('trigger', `unknown rule "${rule}" (${mainWords})`);
  }
}

const STATE_WORDS: Record<string, string> = {
  idle: '未封',
  sealing: '封板中',
  sealed: '封板',
  weakening: '封单减弱',
  triggered: '已触发',
  broken: '炸板',
  resealed: '回封',
};

export function helpReply(): Reply {
  return {
    title: 'SealGuard 封板卫士 commands',
    lines: COMMANDS.map((c) => `/${c.name}${c.args ? ' ' + c.args : ''}: ${c.help}`),
  };
}

/** Runs one command line. Never throws: every failure becomes a one-line reply. */
export async function runCommand(api: GuardApi, inv: Invocation): Promise<Reply> {
  try {
    return await dispatch(api, inv);
  } catch (err) {
    if (err instanceof UsageError) return reply(undefined, `✗ ${err.message}`);
    if (err instanceof InputError || err instanceof UnknownCodeError || err instanceof NotWatchedError) {
      // Domain errors say what is wrong; the user also needs to see what right looks like.
      const head = commandName(inv.text);
      const spec = COMMANDS.find((c) => c.name === head);
      return reply(undefined, `✗ ${err.message.replace(/\.$/, '')}. Example: ${spec?.example ?? '/help'}`);
    }
    return reply(undefined, `✗ Failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function commandName(text: string): string {
  const first = halfWidth(text).trim().split(/\s+/)[0] ?? '';
  const head = first.replace(/^\/+/, '').replace(/@\w+$/, '').toLowerCase();
  return head === 'sell' ? 'confirm' : head;
}

async function dispatch(api: GuardApi, inv: Invocation): Promise<Reply> {
  const words = halfWidth(inv.text).trim().split(/\s+/).filter(Boolean);
  // A console adds a "/" to a line typed without one, also to one typed with a full-width "／".
  const head = (words.shift() ?? '').replace(/^\/+/, '').replace(/@\w+$/, '').toLowerCase();
  const a = words;
  switch (head) {
    case '':
    case 'help':
    case 'start':
      return helpReply();
    case 'watch': {
      if (a.length < 1 || a.length > 3) usage('watch', 'watch takes a code and an amount');
      const sec = parseSymbol(a[0]!);
      const threshold = a[1] !== undefined ? parseAmount(a[1]) : undefined;
      const mode = a[2] !== undefined ? parseMode('watch', a[2]) : undefined;
      const w = await api.watch(sec.id, threshold, mode);
      const v = api.list().find((x) => x.symbol === sec.id);
      return reply(
        undefined,
        `✓ Watching ${w.name ?? ''} ${sec.id}: sell trigger ${describeTriggers(v?.triggers ?? {})}, mode ${v?.mode ?? mode ?? ''}.`.replace(
          '  ',
          ' ',
        ),
      );
    }
    case 'unwatch': {
      if (a.length !== 1) usage('unwatch', 'unwatch takes one code');
      const r = await api.unwatch(a[0]!);
      if (!r.wasWatched) return reply(undefined, `${r.symbol} was not watched; nothing changed.`);
      return reply(
        undefined,
        `✓ Stopped watching ${r.symbol}.${r.held ? ' It is still held; /watch it again to guard it.' : ''}`,
      );
    }
    case 'list':
      return listReply(api);
    case 'mode': {
      if (a.length !== 2) usage('mode', 'mode takes a code (or all) and a mode');
      const mode = parseMode('mode', a[1]);
      const target = a[0]!.toLowerCase() === 'all' ? 'all' : parseSymbol(a[0]!).id;
      const changed = await api.setMode(target, mode);
      return reply(
        undefined,
        `✓ Mode ${mode} for ${target === 'all' ? `all (${changed.length} watched)` : target}.`,
      );
    }
    case 'trigger': {
      if (a.length === 2 && a[0]!.toLowerCase() === 'floor')
        usage('trigger', `a floor price is per code: /trigger <code> floor ${a[1]!}`);
      if (a.length !== 3) usage('trigger', 'trigger takes a code (or all), a rule and a value');
      const target = a[0]!.toLowerCase() === 'all' ? 'all' : parseSymbol(a[0]!).id;
      const { patch, floor } = parseTrigger(a[1]!, a[2]!);
      if (floor !== undefined) {
        if (target === 'all') usage('trigger', 'a floor price is per code');
        await api.setFloor(target, floor ?? undefined);
        return reply(
          undefined,
          floor
            ? `✓ ${target}: never sell below ${floor} after a break.`
            : `✓ ${target}: floor removed (limit-down is the floor).`,
        );
      }
      const t = await api.setTriggers(target, patch);
      return reply(undefined, `✓ ${target === 'all' ? 'Default triggers' : target}: ${describeTriggers(t)}.`);
    }
    case 'positions': {
      const ps = await api.positions();
      if (ps.length === 0) return reply('Positions', 'No holdings.');
      return {
        title: 'Positions 持仓',
        lines: [],
        pre: ps.map(
          (p) =>
            `${p.symbol} ${p.name ?? ''} ${p.quantity} (sellable ${p.sellable})${p.avgCost ? ` cost ${p.avgCost}` : ''}${p.lastPrice ? ` last ${p.lastPrice}` : ''}`,
        ),
      };
    }
    case 'balance': {
      const b = await api.balance();
      return reply(
        'Balance 资金',
        `Account ${b.accountId}`,
        `Total ${b.totalAsset}`,
        `Cash available ${b.cashAvailable}`,
        `Market value ${b.marketValue}`,
      );
    }
    case 'orders': {
      if (a.length > 1 || (a[0] && !/^\d{4}-\d{2}-\d{2}$/.test(a[0])))
        usage('orders', 'orders takes an optional date YYYY-MM-DD');
      const view = await api.orders(a[0]);
      if (view.when === 'future')
        return reply(`Orders ${view.day}`, `${view.day} is after today: no orders yet.`);
      if (view.when === 'past') return pastOrdersReply(view);
      const { orders, intents, follow } = view;
      if (orders.length === 0 && intents.length === 0) return reply('Orders today', 'No orders today.');
      const lines = intents.flatMap((i) => intentLines(i, orders, follow));
      const known = new Set(intents.map((i) => i.clientOrderId));
      for (const o of orders)
        if (!known.has(o.clientOrderId))
          lines.push(
            `${o.symbol} ${o.side} ${o.quantity} @ ${o.limitPrice}: ${o.status} ${o.filledQuantity}/${o.quantity}`,
          );
      return { title: 'Orders today 今日委托', lines: [], pre: lines };
    }
    case 'summary': {
      if (a.length > 1 || (a[0] && !/^\d{4}-\d{2}-\d{2}$/.test(a[0])))
        usage('summary', 'summary takes an optional date YYYY-MM-DD');
      return reply(undefined, await api.summary(a[0]));
    }
    case 'pause':
      await api.pause();
      return reply(
        undefined,
        '⏸ Automatic selling paused. Alerts and confirms continue; /resume to re-enable.',
      );
    case 'resume':
      await api.resume();
      return reply(undefined, '▶ Automatic selling resumed.');
    case 'status':
      return statusReply(api);
    case 'calendar':
      return calendarReply(api, a);
    case 'confirm':
    case 'sell':
    case 'hold': {
      if (a.length !== 1)
        usage(head === 'hold' ? 'hold' : 'confirm', 'give the action id shown with the alert');
      const r = await api.resolve(a[0]!, head === 'hold' ? 'hold' : 'sell', inv.user);
      return reply(undefined, `${r.ok ? '✓' : '✗'} ${r.message}`);
    }
    case 'captcha':
    case 'sms':
    case 'login': {
      const login = api.brokerLogin();
      if (!login)
        return reply(
          undefined,
          `✗ /${head} is for a broker that needs a login (BROKER=eastmoney); this one does not.`,
        );
      if (head === 'login') {
        if (a.length !== 0) usage('login', 'login takes no argument');
        return reply(undefined, await login.restart());
      }
      if (a.length !== 1) usage(head, `${head} takes one answer`);
      return reply(
        undefined,
        head === 'captcha' ? await login.answerCaptcha(a[0]!) : await login.answerSms(a[0]!),
      );
    }
    default:
      return reply(undefined, `✗ Unknown command "/${head}". Send /help for the list.`);
  }
}

function intentLines(i: Intent, orders: Order[], follow: Record<string, string>, note?: string): string[] {
  const o = i.order ?? orders.find((x) => x.clientOrderId === i.clientOrderId);
  const st = o
    ? `${o.status} ${o.filledQuantity}/${o.quantity}${o.avgFillPrice ? ` @ ${o.avgFillPrice}` : ''}`
    : i.state;
  const what = i.attempt ? `replacement ${i.attempt}` : i.rule;
  const line = `${i.name} ${i.symbol} sell ${i.quantity} @ ${i.limitPrice}: ${st} (${what})`;
  const chain = follow[i.clientOrderId];
  return [line, ...(chain ? [`  ↳ ${chain}`] : []), ...(note ? [`  ⚠ ${note}`] : [])];
}

/** An earlier day's orders, from its archive and whatever of that day is still in orders.json. */
function pastOrdersReply(v: OrdersView): Reply {
  const title = `Orders ${v.day} 委托`;
  const lines = v.intents.flatMap((i) => intentLines(i, v.orders, v.follow, v.unfinished?.[i.clientOrderId]));
  if (typeof v.archive === 'object') {
    const head = `✗ The order archive of ${v.day} cannot be read, nothing in it is shown: ${v.archive.problem}`;
    if (lines.length === 0) return reply(title, head);
    return { title, lines: [head, 'Still in orders.json for that day:'], pre: lines };
  }
  if (lines.length > 0) return { title, lines: [], pre: lines };
  if (v.archive === 'none')
    return reply(title, `No archive for ${v.day}: SealGuard recorded no orders or confirms that day.`);
  return reply(title, `No orders on ${v.day}.`);
}

async function calendarReply(api: GuardApi, a: string[]): Promise<Reply> {
  const cal = api.calendar;
  if (!cal) return reply(undefined, '✗ The calendar is not available in this process.');
  if (a.length === 0)
    return { title: 'Calendar 交易日历', lines: calendarLines(cal.upcoming(10), cal.warning()) };
  const verb = a[0]!.toLowerCase();
  if ((verb !== 'close' && verb !== 'open') || a.length < 2)
    usage('calendar', 'calendar takes nothing, or close/open and a date YYYY-MM-DD');
  const note = a.slice(2).join(' ');
  const d = await cal.setDay(a[1]!, verb === 'close' ? 'closed' : 'open', note || undefined);
  return reply(undefined, `✓ ${d.date} is now ${d.text}.`);
}

function listReply(api: GuardApi): Reply {
  const rows = api.list();
  if (rows.length === 0)
    return reply('Watching nothing', 'Add a code: /watch 600519 2000w (holdings are watched automatically).');
  const lines = rows.map((v) => {
    const held = v.position ? `held ${v.position.quantity} (sellable ${v.position.sellable})` : 'not held';
    const seal = v.sealAmount > 0 ? ` seal ${formatAmount(v.sealAmount)}` : '';
    const peak = v.segmentPeak > 0 ? ` peak ${formatAmount(v.segmentPeak)}` : '';
    const up = v.limitUp ? `涨停 ${v.limitUp}` : '涨停 —';
    return `${v.name} ${v.symbol} · ${held} · ${up} · ${STATE_WORDS[v.state] ?? v.state}${seal}${peak} · trigger ${describeTriggers(v.triggers)} · ${v.mode}`;
  });
  return { title: `Watching ${rows.length} 盯板列表${api.paused ? ' (auto-sell paused)' : ''}`, lines };
}

function statusReply(api: GuardApi): Reply {
  const s = api.status();
  const lines = [
    `Clock ${s.clock}${s.simulated ? ' (simulated)' : ''} · ${s.tradingDay} · ${s.phase}`,
    `Broker ${s.broker.name}: ${s.broker.ok === undefined ? 'not checked yet' : s.broker.ok ? 'ok' : `DOWN (${s.broker.error})`}`,
    ...s.sources.map(
      (x) =>
        `Quotes ${x.name}${x.active ? ' (active)' : ''}: ${x.ok ? 'ok' : 'failing'}${x.lastQuoteAgeMs !== undefined ? `, last quote ${quoteAgeText(x.lastQuoteAgeMs)}` : ''}${x.lastError && !x.ok ? ` (${x.lastError})` : ''}`,
    ),
    `Watching ${s.watched} · pending confirms ${s.pendingActions} · auto-sell ${s.paused ? 'PAUSED' : 'on'}`,
    ...(s.disk
      ? [
          `Disk: ${formatBytes(s.disk.freeBytes)} free of ${formatBytes(s.disk.totalBytes)} for DATA_DIR${s.disk.freeBytes < s.disk.lowBytes ? ` (LOW: under ${formatBytes(s.disk.lowBytes)})` : ''}`,
        ]
      : []),
    ...s.health.items.map((h) => `${h.level === 'error' ? '🛑' : '⚠️'} ${h.text}`),
    ...Object.entries(s.health.counters)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k}: ${n}`),
  ];
  return { title: 'Status', lines };
}
