import { describe, expect, it } from 'vitest';
import { EventBus, RECORD_QUEUE } from '../../src/engine/bus.ts';
import type { GuardEvent } from '../../src/engine/events.ts';

const info = (n: number): GuardEvent => ({ type: 'Info', at: n, text: String(n) });

describe('EventBus queue bounds', () => {
  it('a storm of 5,000 events: a chat subscriber keeps the newest 1,000, the day record keeps all', async () => {
    const bus = new EventBus();
    const chat: number[] = [];
    const record: number[] = [];
    bus.subscribe('chat:slow', (e) => void chat.push(e.at));
    bus.subscribe('event-log', (e) => void record.push(e.at), { maxQueue: RECORD_QUEUE });
    const release = bus.hold(10_000); // nothing drains while the storm is published
    for (let n = 0; n < 5000; n++) bus.publish(info(n));
    release();
    await bus.idle();
    expect(record).toEqual(Array.from({ length: 5000 }, (_, n) => n));
    expect(chat).toEqual(Array.from({ length: 1000 }, (_, n) => 4000 + n));
  });
});
