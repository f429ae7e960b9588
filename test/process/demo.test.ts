/**
 * A newcomer's first run: `npm start` (node bin/sealguard.js start) with nothing configured, from
 * a directory without a .env. Within 60 seconds the console must show, in plain words, a seal
 * being watched, a sell trigger, and a paper sell. The demo plays at a fixed 90× speed, so this
 * one spawned test takes about 35 s: the time a newcomer actually waits is what it proves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/sealguard.js', import.meta.url));
let child: ChildProcess | undefined;

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

it('npm start with no configuration shows a watched seal, a trigger and a paper sell within 60 s', async () => {
  const started = Date.now();
  let out = '';
  let err = '';
  child = spawn(process.execPath, [BIN, 'start'], {
    cwd: mkdtempSync(join(tmpdir(), 'sg-demo-cwd-')),
    // Nothing configured: only what any shell has, and a scratch data directory.
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'sg-demo-')),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString('utf8')));
  const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
  const waitFor = async (re: RegExp, until: number): Promise<RegExpExecArray> => {
    for (;;) {
      const m = re.exec(out);
      if (m) return m;
      if (Date.now() > until || child!.exitCode !== null)
        throw new Error(
          `stdout never showed ${re}\n--- stdout ---\n${out}\n--- stderr ---\n${err.slice(-3000)}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const deadline = started + 60_000;

  await waitFor(/No configuration found, so this is a replayed market day/, deadline);
  // A seal being watched, in plain words.
  await waitFor(/SealGuard is watching 5: .*中国海诚 002116\.SZ/, deadline);
  await waitFor(/🔒 能科科技 603859\.SH sealed at limit-up 35\.70: seal [\d.]+(万|亿)/, deadline);
  // The console takes commands on stdin while the day plays.
  child.stdin!.write('/list\n');
  await waitFor(
    /Watching 5 盯板列表[\s\S]*能科科技 603859\.SH · held 10000 \(sellable 10000\) · 涨停 35\.70 · 封板/,
    deadline,
  );
  // The trigger, with its evidence, and the paper sell at the limit-up price.
  await waitFor(
    /🚨 Sell trigger 封单减弱 能科科技 603859\.SH\n[^\n]*\n *Seal now 1993\.85万 · peak 1\.57亿/,
    deadline,
  );
  await waitFor(/Auto mode: selling 10000 at 35\.70 now\./, deadline);
  await waitFor(/✅ Sold 能科科技 603859\.SH: 10000 @ 35\.70/, deadline);
  expect(Date.now() - started).toBeLessThan(60_000);
  // Nothing alarming on the way: the demo logs at warn, and nothing warned.
  expect(err).not.toMatch(/"level":(40|50|60)/);

  child.kill('SIGINT');
  const code = await Promise.race([
    exited,
    new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 8_000)),
  ]);
  expect(code, err.slice(-2000)).toBe(0);
}, 75_000);
