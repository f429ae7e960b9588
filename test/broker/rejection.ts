import { expect } from 'vitest';
import { BrokerError } from '../../src/broker/broker.ts';

/** The BrokerError a broker call rejected with (and fails the test if it resolved instead). */
export async function rejection(p: Promise<unknown>): Promise<BrokerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BrokerError);
  return err as BrokerError;
}
