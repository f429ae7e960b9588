import { describe, expect, it } from 'vitest';
import { redactor } from '../../src/broker/redact.ts';

describe('redactor', () => {
  const r = redactor(['brk-Tok3n-9f8e7d6c5b4a', undefined, 'ab']);

  it('hides a known secret in every form a text can carry it', () => {
    expect(r('token brk-Tok3n-9f8e7d6c5b4a here')).toBe('token *** here');
    expect(r(JSON.stringify({ h: 'brk-Tok3n-9f8e7d6c5b4a' }))).toBe('{"h":"***"}');
    expect(r(`?t=${encodeURIComponent('brk-Tok3n-9f8e7d6c5b4a')}`)).toBe('?t=***');
  });

  it('hides credentials after an Authorization header or a Bearer/Basic scheme, known or not', () => {
    expect(r('headers={"Authorization": "Bearer some-proxy-token"}')).toBe(
      'headers={"Authorization": "Bearer ***"}',
    );
    expect(r('Authorization: Basic dXNlcjpwYXNz')).toBe('Authorization: Basic ***');
    expect(r('authorization=abc123; next')).toBe('authorization=***; next');
    expect(r('sent Bearer eyJhbGciOi.x.y to it')).toBe('sent Bearer *** to it');
  });

  it('leaves ordinary text alone (and ignores values too short to be credentials)', () => {
    expect(r('POST /v1/orders: HTTP 422 BROKER_REJECTED about ab')).toBe(
      'POST /v1/orders: HTTP 422 BROKER_REJECTED about ab',
    );
    expect(r('the Bearer of bad news')).toBe('the Bearer of bad news');
  });
});
