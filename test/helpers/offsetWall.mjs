// Preloaded into a spawned SealGuard (NODE_OPTIONS=--import) to give it a wrong wall clock, as a
// host with a bad RTC or a stepped clock has: Date.now() and new Date() read the real time plus
// SG_TEST_WALL_OFFSET_MS, and each SIGUSR2 steps that offset by SG_TEST_WALL_STEP_MS. The
// monotonic clock (performance.now()) is left alone, exactly as a real wall-clock step leaves
// CLOCK_MONOTONIC alone. Test-only: nothing in src/ knows about it.
const RealDate = globalThis.Date;
let offset = Number(process.env.SG_TEST_WALL_OFFSET_MS ?? 0);
const step = Number(process.env.SG_TEST_WALL_STEP_MS ?? 0);

class OffsetDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + offset);
    else super(...args);
  }
  static now() {
    return RealDate.now() + offset;
  }
}
globalThis.Date = OffsetDate;

process.on('SIGUSR2', () => {
  offset += step;
  process.stderr.write(`offsetWall: wall clock stepped by ${step} ms\n`);
});
