import { describe, expect, it } from 'vitest';
import { ptradeStatus, qmtStatus, statusFromText, wireStatus } from '../../src/broker/statusMap.ts';

describe('order status normalization (brokers.md §6.5)', () => {
  it('THS / easytrader 状态说明 texts, nested texts resolved by the longer one', () => {
    const cases: Array<[string, string]> = [
      ['未报', 'pending_new'],
      ['待报', 'pending_new'],
      ['已报', 'submitted'],
      ['未成交', 'submitted'],
      ['部成', 'partially_filled'],
      ['部分成交', 'partially_filled'],
      ['已报待撤', 'pending_cancel'],
      ['部成待撤', 'pending_cancel'],
      ['已成', 'filled'],
      ['全部成交', 'filled'],
      ['已撤', 'cancelled'],
      ['部撤', 'partially_cancelled'],
      ['废单', 'rejected'],
      [' 已成 ', 'filled'],
      ['废单:价格超出涨跌停', 'rejected'],
      ['正在处理', 'unknown'],
    ];
    expect(cases.map(([t]) => [t, statusFromText(t)])).toEqual(cases);
  });

  it('xtquant order_status codes', () => {
    expect([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 255].map(qmtStatus)).toEqual([
      'pending_new',
      'pending_new',
      'submitted',
      'pending_cancel',
      'pending_cancel',
      'partially_cancelled',
      'cancelled',
      'partially_filled',
      'filled',
      'rejected',
      'unknown',
    ]);
  });

  it('PTrade status codes', () => {
    expect(['0', '1', '+', '2', '-', 'V', '3', '4', '5', '6', '7', '8', '9', 'X'].map(ptradeStatus)).toEqual([
      'pending_new',
      'pending_new',
      'pending_new',
      'submitted',
      'submitted',
      'submitted',
      'pending_cancel',
      'pending_cancel',
      'partially_cancelled',
      'cancelled',
      'partially_filled',
      'filled',
      'rejected',
      'unknown',
    ]);
  });

  it('bridge wire statuses pass through; anything else is unknown', () => {
    expect(wireStatus('partially_filled')).toBe('partially_filled');
    expect(wireStatus('PARTIALLY_FILLED')).toBe('unknown');
    expect(wireStatus(55)).toBe('unknown');
  });
});
