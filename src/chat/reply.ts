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

export function htmlText(r: Reply): string {
  const out: string[] = [];
  if (r.title) out.push(`<b>${escapeHtml(r.title)}</b>`);
  out.push(...r.lines.map(escapeHtml));
  if (r.pre?.length) out.push(`<pre>${escapeHtml(r.pre.join('\n'))}</pre>`);
  return out.join('\n');
}

/** Splits text into chunks of at most `max` units (characters or UTF-8 bytes), on line boundaries where possible. */
export function splitText(
  text: string,
  max: number,
  measure: (s: string) => number = (s) => s.length,
): string[] {
  if (measure(text) <= max) return [text];
  const chunks: string[] = [];
  let cur = '';
  for (const line of text.split('\n')) {
    const candidate = cur ? `${cur}\n${line}` : line;
    if (measure(candidate) <= max) {
      cur = candidate;
      continue;
    }
    if (cur) chunks.push(cur);
    let rest = line;
    while (measure(rest) > max) {
      let cut = Math.min(rest.length, max);
      while (cut > 1 && measure(rest.slice(0, cut)) > max) cut--;
      chunks.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    cur = rest;
  }
  if (cur) chunks.push(cur);
  return chunks;
}
