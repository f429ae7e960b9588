// Worker entry for bench/bridgeWorker.ts: a worker does not inherit the tsx loader.
import { register } from 'tsx/esm/api';

register();
await import('./bridgeWorker.ts');
