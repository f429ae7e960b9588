import { describe, expect, it } from 'vitest';
import { isContinuous, phaseAt } from '../../src/domain/session.ts';
import { parseSymbol } from '../../src/domain/symbols.ts';
import { exchangeTs } from '../../src/domain/time.ts';
import { marketCalendar } from '../../src/domain/calendar.ts';

const at = (hhmmss: string, date = '2026-11-24'): number => exchangeTs(date, hhmmss);

describe('phases of a trading day at their boundaries', () => {
  it.each([
    ['00:00:00', 'pre-open'],
    ['09:14:59', 'pre-open'],
    ['09:15:00', 'opening-auction'],
    ['09:19:59', 'opening-auction'],
    ['09:20:00', 'opening-auction-locked'],
    ['09:24:59', 'opening-auction-locked'],
    ['09:25:00', 'pre-continuous'],
    ['09:29:59', 'pre-continuous'],
    ['09:30:00', 'continuous'],
    ['11:29:59', 'continuous'],
    ['11:30:00', 'lunch'],
    ['12:59:59', 'lunch'],
    ['13:00:00', 'continuous'],
    ['14:56:59', 'continuous'],
    ['14:57:00', 'closing-auction'],
    ['14:59:59', 'closing-auction'],
    ['15:00:00', 'closed'],
    ['23:59:59', 'closed'],
  ])('%s is %s', (t, phase) => {
    expect(phaseAt(at(t))).toBe(phase);
    expect(isContinuous(at(t))).toBe(phase === 'continuous');
  });

  it('includes the last millisecond before a boundary in the earlier phase', () => {
    expect(phaseAt(at('09:30:00') - 1)).toBe('pre-continuous');
    expect(phaseAt(at('14:57:00') - 1)).toBe('continuous');
  });
});

describe('non-trading days are closed all day', () => {
  it.each(['2026-11-28', '2026-10-01', '2026-02-14', '2024-02-09'])('%s at 10:00', (date) => {
    expect(phaseAt(at('10:00:00', date))).toBe('closed');
    expect(phaseAt(at('09:00:00', date))).toBe('closed');
  });
  it('a provisional weekday (no calendar data) has its sessions; one the market showed closed is closed', () => {
    expect(phaseAt(at('10:00:00', '2027-01-04'))).toBe('continuous');
    expect(phaseAt(at('09:16:00', '2027-01-05'))).toBe('opening-auction');
    expect(phaseAt(at('10:00:00', '2027-01-02'))).toBe('closed'); // Saturday
    marketCalendar.setObserved('2027-01-01', { status: 'closed', evidence: 'no quote dated today', at: 0 });
    expect(phaseAt(at('10:00:00', '2027-01-01'))).toBe('closed');
  });
});

describe('SH funds had no closing auction before 2026-07-06', () => {
  const etf = parseSymbol('510300');
  it('trade continuously to 15:00 until 2026-07-03', () => {
    expect(phaseAt(at('14:58:00', '2026-07-03'), etf)).toBe('continuous');
    expect(phaseAt(at('15:00:00', '2026-07-03'), etf)).toBe('closed');
  });
  it('have the 14:57 auction from 2026-07-06, like SZ funds always', () => {
    expect(phaseAt(at('14:58:00', '2026-07-06'), etf)).toBe('closing-auction');
    expect(phaseAt(at('14:58:00', '2026-07-03'), parseSymbol('159915'))).toBe('closing-auction');
    expect(phaseAt(at('14:58:00', '2026-07-03'), parseSymbol('600519'))).toBe('closing-auction');
  });
});
