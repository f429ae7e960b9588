import { appendFileSync, mkdtempSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initialMonitorState, NEVER } from '../../src/domain/sealMonitor.ts';
import { MonitorJournal } from '../../src/engine/monitorJournal.ts';

const DAY = '2026-11-23';

describe('the seal-monitor journal', () => {
  it('keeps the last state written per symbol, and only that day', async () => {
    const j = new MonitorJournal(mkdtempSync(join(tmpdir(), 'sg-journal-')));
    const a1 = { ...initialMonitorState('002116.SZ', DAY), segment: 1, status: 'sealed' as const };
    const a2 = { ...a1, segment: 2, status: 'resealed' as const };
    const b = { ...initialMonitorState('600519.SH', DAY), segment: 1 };
    await Promise.all([j.append(DAY, [a1, b]), j.append(DAY, [a2])]);
    const got = await j.load(DAY);
    expect(got.get('002116.SZ')).toMatchObject({ segment: 2, status: 'resealed' });
    expect(got.get('600519.SH')).toMatchObject({ segment: 1 });
    expect((await j.load('2026-11-24')).size).toBe(0);
  });

  it('skips a line torn by a kill mid-append: the state before it stands', async () => {
    const j = new MonitorJournal(mkdtempSync(join(tmpdir(), 'sg-journal-')));
    await j.append(DAY, [{ ...initialMonitorState('002116.SZ', DAY), segment: 3 }]);
    appendFileSync(j.file(DAY), '{"v":1,"symbol":"002116.SZ","day":"2026-11-23","segm');
    expect((await j.load(DAY)).get('002116.SZ')?.segment).toBe(3);
    // The next append after the torn line starts a fresh line and is read normally.
    await j.append(DAY, [{ ...initialMonitorState('002116.SZ', DAY), segment: 4 }]);
    expect((await j.load(DAY)).get('002116.SZ')?.segment).toBe(4);
  });

  it('a journal from before NEVER (null for "no step yet") loads as NEVER', async () => {
    const j = new MonitorJournal(mkdtempSync(join(tmpdir(), 'sg-journal-')));
    const old = { ...initialMonitorState('002116.SZ', DAY), segment: 2, lastStepAt: null, lastTs: null };
    await j.append(DAY, [initialMonitorState('600000.SH', DAY)]);
    appendFileSync(j.file(DAY), JSON.stringify(old) + '\n');
    const st = (await j.load(DAY)).get('002116.SZ')!;
    expect(st).toMatchObject({ segment: 2, lastStepAt: NEVER, lastTs: NEVER });
    expect((await j.load(DAY)).get('600000.SH')).toMatchObject({ lastStepAt: NEVER, lastTs: NEVER });
  });

  it('a journal replaced between appends is written at its path, not into the file that was moved away', async () => {
    const j = new MonitorJournal(mkdtempSync(join(tmpdir(), 'sg-journal-')));
    await j.append(DAY, [{ ...initialMonitorState('002116.SZ', DAY), segment: 1 }]);
    renameSync(j.file(DAY), `${j.file(DAY)}.old`);
    appendFileSync(j.file(DAY), ''); // a new, empty journal where the old one was
    await j.append(DAY, [{ ...initialMonitorState('600519.SH', DAY), segment: 2 }]);
    const got = await j.load(DAY);
    expect(got.get('600519.SH')?.segment).toBe(2);
    expect(got.has('002116.SZ')).toBe(false);
    await j.close();
  });
});
