/**
 * The per-recipient outbox on its own (src/chat/outbox.ts): priority order, pacing, digests,
 * and what is dropped when it is full. Real timers, a small pace.
 */
import { describe, expect, it } from 'vitest';
import { Outbox } from '../../src/chat/outbox.ts';

function box(
  o: { perSecond?: number; maxQueue?: number; digestIntervalMs?: number; ready?: () => boolean } = {},
) {
  const sent: string[] = [];
  const at: number[] = [];
  const drops: string[] = [];
  const b = new Outbox<string, string>({
    send: async (j) => {
      sent.push(j);
      at.push(Date.now());
    },
    sendDigest: async (entries, total) => {
      sent.push(`digest ${total}: ${entries.join(',')}`);
      at.push(Date.now());
    },
    rate: () => (o.perSecond ? { perSecond: o.perSecond } : undefined),
    ...(o.ready ? { ready: o.ready } : {}),
    ...(o.maxQueue ? { maxQueue: o.maxQueue } : {}),
    digestIntervalMs: o.digestIntervalMs ?? 0,
    onDrop: (n, what) => drops.push(`${what} ${n}`),
  });
  return { b, sent, at, drops };
}

describe('Outbox', () => {
  it('sends priority 0 before 1 before the digest, in order within a priority, at the pace asked', async () => {
    let ready = false;
    const { b, sent, at } = box({ perSecond: 20, ready: () => ready });
    b.fold('s1');
    b.push(1, 'break A');
    b.fold('s2');
    void b.push(0, 'confirm 1');
    b.push(1, 'break B');
    void b.push(0, 'confirm 2');
    ready = true;
    await b.idle(5_000);
    expect(sent).toEqual(['confirm 1', 'confirm 2', 'break A', 'break B', 'digest 2: s1,s2']);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(45);
  });

  it('a full queue drops the seal digest first, then the oldest priority 1, never priority 0', async () => {
    const { b, sent, drops } = box({ maxQueue: 3, ready: () => false });
    b.fold('s1');
    b.fold('s2');
    b.push(1, 'info 1');
    b.push(1, 'info 2');
    b.push(0, 'confirm 1'); // full: the digest (2 notices) goes
    b.push(0, 'confirm 2'); // full: info 1 goes
    b.push(0, 'confirm 3'); // full: info 2 goes
    b.push(0, 'confirm 4'); // only confirms left: kept
    expect(drops).toEqual(['digest 2', 'job 1', 'job 1']);
    expect(b.size).toBe(4);
    b.stop();
    expect(sent).toEqual([]);
  });

  it('one digest per interval: notices folded while waiting go out together', async () => {
    const { b, sent } = box({ digestIntervalMs: 300 });
    b.fold('a');
    await new Promise((r) => setTimeout(r, 20));
    b.fold('b');
    b.fold('c');
    await new Promise((r) => setTimeout(r, 100));
    expect(sent).toEqual(['digest 1: a']);
    await b.idle(2_000);
    expect(sent).toEqual(['digest 1: a', 'digest 2: b,c']);
  });
});
