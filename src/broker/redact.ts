/**
 * Secret-free text from whatever a broker or bridge answered. A bridge that echoes the request
 * (some proxies and debug handlers put the headers into their error body) would otherwise carry
 * `Authorization: Bearer <BROKER_TOKEN>` into an order's error, and from there into chat
 * messages, orders.json and the event log, none of which pass through the log's redaction.
 *
 * Known values are replaced in every form they take in text (raw, JSON-escaped, URL-encoded);
 * credentials after an Authorization header or a Bearer/Basic scheme are replaced whatever their
 * value, because an echo may carry a token we were never told (a proxy's own).
 */

export const HIDDEN = '***';

type Replacer = (match: string, ...groups: string[]) => string;

const SHAPES: [RegExp, Replacer][] = [
  // "authorization: Bearer abc", "\"authorization\":\"Bearer abc\"", "Authorization=abc"
  [
    /(authorization["']?\s*[:=]\s*["']?)(?:(bearer|basic|token)\s+)?[^\s"',;}\]]+/gi,
    (_m, head, scheme) => `${head}${scheme ? `${scheme} ` : ''}${HIDDEN}`,
  ],
  [/\b(Bearer|Basic)\s+(?!\*\*\*)[A-Za-z0-9._~+/=-]{4,}/g, (_m, scheme) => `${scheme} ${HIDDEN}`],
];

export function redactor(secrets: readonly (string | undefined)[]): (text: string) => string {
  const forms = new Set<string>();
  for (const s of secrets) {
    // Very short values would blank out ordinary words; they are not credentials anyway.
    if (!s || s.length < 4) continue;
    forms.add(s);
    forms.add(JSON.stringify(s).slice(1, -1));
    forms.add(encodeURIComponent(s));
  }
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const f of ordered) out = out.split(f).join(HIDDEN);
    for (const [re, to] of SHAPES) out = out.replace(re, to);
    return out;
  };
}
