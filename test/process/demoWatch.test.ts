/**
 * In the demo the market is a replayed day: /watch works for every stock in that recording, and
 * a real code that the recording lacks (600519, the example in /help) is refused for what it is,
 * never as "no such listed code".
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.ts';
import { runCommand } from '../../src/chat/commands.ts';
import { loadConfig } from '../../src/config.ts';
import { plainText } from '../../src/chat/reply.ts';

let app: App | undefined;
afterAll(async () => {
  await app?.stop();
});

describe('demo /watch', () => {
  it('watches a recorded stock that is not held, and explains a code the replayed day lacks', async () => {
    const config = loadConfig(
      { DATA_DIR: mkdtempSync(join(tmpdir(), 'sg-demo-watch-')) },
      { readDotEnv: false },
    );
    app = await startApp(config, {
      demo: true,
      demoSpeed: 1,
      input: new PassThrough(),
      output: new PassThrough(),
      logger: pino({ level: 'silent' }),
    });
    const say = async (text: string) => plainText(await runCommand(app!.api, { user: 'me', text }));
    // 002812 (恩捷股份) is in data/demo but not among the demo's holdings.
    expect(await say('/watch 002812 2000w')).toContain('002812.SZ');
    expect(app.guard.watchedSymbols()).toContain('002812.SZ');
    const refused = await say('/watch 600519 2000w');
    expect(refused).toContain('demo');
    expect(refused).not.toContain('no such listed code');
    expect(app.guard.watchedSymbols()).not.toContain('600519.SH');
  }, 15_000);
});
