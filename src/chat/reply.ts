/**
 * A channel-neutral reply: a bold title and plain lines. Each channel renders it in its own
 * markup (Telegram HTML with escaping, WeCom markdown, console plain text), so command handlers
 * never build markup and never forget to escape a name like "*ST".
 */
export interface Reply {
  title?: string;
  lines: string[];
  /** Monospace block (tables). */
  pre?: string[];
  /** Buttons for a pending action. */
  action?: { id: string; sellLabel: string; holdLabel: string };
}

export function reply(title: string | undefined, ...lines: string[]): Reply {
  return title === undefined ? { lines } : { title, lines };
}

export function plainText(r: Reply): string {
  const out: string[] = [];
  if (r.title) out.push(r.title);
  out.push(...r.lines);
  if (r.pre?.length) out.push(...r.pre);
  return out.join('\n');
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
