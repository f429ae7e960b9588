/**
 * Reads the flat fields of WeCom's small callback XML (`<Tag><![CDATA[v]]></Tag>` or `<Tag>v</Tag>`).
 * Deliberately not a general XML parser: no DTDs, no entities beyond the five predefined ones,
 * nothing is expanded or fetched, so the usual XML attacks have nothing to work with.
 */
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export class XmlError extends Error {
  override name = 'XmlError';
}

/** Returns the named fields found (first occurrence of each); throws XmlError on DTDs. */
export function xmlFields<K extends string>(xml: string, names: readonly K[]): Partial<Record<K, string>> {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new XmlError('XML with a DTD is refused');
  const out: Partial<Record<K, string>> = {};
  for (const name of names) {
    const m = new RegExp(`<${name}>\\s*(?:<!\\[CDATA\\[([\\s\\S]*?)\\]\\]>|([^<]*))\\s*</${name}>`).exec(xml);
    if (!m) continue;
    out[name] = m[1] ?? decodeEntities(m[2] ?? '');
  }
  return out;
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[ref] ?? whole;
  });
}
