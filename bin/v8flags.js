// The V8 settings SealGuard runs with, set at run time (before the app is loaded): shared by
// bin/sealguard.js and bin/bench.js so that the bench measures the process users run.
import { setFlagsFromString } from 'node:v8';

/** Applies them; call first thing, before any of the app's modules are imported. */
export function applyV8Flags() {
  // The guard is a long-running process with a small live heap (~30 MB at 5,000 watched) and a
  // steady stream of short-lived snapshots: V8's default heap growth would let the heap swell to
  // ~155 MB resident. Growing it by 30% steps keeps it near 108 MB (with the one helper thread
  // that `npm start` asks for). The step is a trade: each major GC marks the whole live heap (at
  // 20%, one every ~2.5 s cost ~4.5 µs of the ~14 µs of CPU per symbol per poll, bench
  // 2026-12-02; at 400% it was gone), and a larger step means fewer of them for a few MB more
  // resident. --optimize-for-size would save more memory but halves the parser's throughput.
  setFlagsFromString('--heap-growing-percent=30');
  // The sell path is cold code by nature: it runs once per trigger, so V8 would run it in its
  // interpreter, which tiers a function up to baseline code only after it has run a while. The
  // baseline compiler (Sparkplug) is a single pass over the bytecode, so compiling every
  // function on its first call costs little. Measured 2026-12-03 (bench, this 2-core box,
  // alternating runs): poll-to-POST p50 3.0-3.6 ms against 4.0-4.2 without; CPU per symbol per
  // poll 8.7 against 9.5 µs; resident +4 MB at 5,000 watched (106 against 102 MB).
  setFlagsFromString('--always-sparkplug');
}

// Two settings live on node's command line instead (`npm start`, the Dockerfile's CMD), since V8
// reads them only when the heap is created. `--max-semi-space-size=2`: polling 5,000 codes keeps
// one cycle's snapshots alive across scavenges, so V8 grows each semi-space to its 16 MB maximum
// (33.6 MB of new space, most of it empty but resident: 152 MB at 5,000 watched with 2,000 sealed
// and Telegram on). A 4 MB cap kept that case near 122 MB; since unchanged quotes are no longer
// re-parsed (far less short-lived garbage), 2 MB costs no measurable CPU and saves ~5 MB more
// (bench, 2026-12-02: 105-110 vs 112-115 MB at 5,000 watched, 13.4-13.6 vs 12.8-14.2 µs per
// symbol per poll). `--v8-pool-size=1`: one V8 helper thread instead of four. Each helper that
// compiles or marks gets a malloc arena of its own, kept resident after the work: one helper
// measured 3.5-4.5 MB less at 5,000 watched (106 vs 110 MB), which pays for the larger heap step
// above. GC work moves to the main thread; total CPU stayed within the noise (15.9 vs 15.3 µs per
// symbol per poll, three alternating runs).
