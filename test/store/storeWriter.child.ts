// Child process for crash.test.ts: rewrites one store as fast as it can until it is killed.
import { z } from 'zod';
import { openJsonStore } from '../../src/store/jsonStore.ts';

const file = process.argv[2]!;
const State = z.object({ n: z.number().int(), items: z.array(z.number().int()) });
const store = await openJsonStore({ file, schema: State, version: 1, defaults: () => ({ n: 0, items: [] }) });
let announced = false;
for (;;) {
  // Every committed state has all items equal to n: a torn or mixed file cannot pass for one.
  await store.update((d) => {
    d.n += 1;
    d.items = new Array<number>(5000).fill(d.n);
  });
  if (!announced) {
    process.stdout.write('writing\n');
    announced = true;
  }
}
