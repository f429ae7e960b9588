/**
 * Names in the Tencent and Sina bodies. Everything in those bodies except security names is
 * ASCII, so the parsers work on the raw bytes and decode only the name bytes. Decoding whole
 * bodies (TextDecoder('gb18030') or even a latin1 string copy) cost more than the rest of the
 * parse put together when measured on the 900-row capture.
 */

export type NameEncoding = 'gb18030' | 'utf-8';

const decoders: Record<NameEncoding, InstanceType<typeof TextDecoder>> = {
  gb18030: new TextDecoder('gb18030'),
  'utf-8': new TextDecoder('utf-8'),
};

/**
 * The last name read for one security, with its bytes: names repeat every poll, and comparing a
 * few bytes is far cheaper than decoding them again.
 */
export class NameCache {
  private raw: Uint8Array | null = null;
  private enc: NameEncoding = 'gb18030';
  private name = '';

  /** The name in bytes [from, to). */
  read(b: Uint8Array, from: number, to: number, enc: NameEncoding): string {
    const raw = this.raw;
    if (raw !== null && raw.length === to - from && enc === this.enc) {
      let i = 0;
      while (i < raw.length && raw[i] === b[from + i]) i++;
      if (i === raw.length) return this.name;
    }
    // A copy, never a view: the body is a lent buffer the next answer overwrites.
    this.raw = new Uint8Array(b.subarray(from, to));
    this.enc = enc;
    this.name = decoders[enc].decode(this.raw);
    return this.name;
  }
}

/**
 * End of a GBK field that starts at `from` and is closed by the ASCII byte `stop`. In GBK a trail
 * byte can equal '~' (0x7E), so a plain byte search could cut a name in half; this steps over
 * 2-byte (lead 0x81-0xFE) and 4-byte GB18030 (second byte 0x30-0x39) characters.
 */
export function gbkFieldEnd(b: Uint8Array, from: number, to: number, stop: number): number {
  let i = from;
  while (i < to) {
    const c = b[i]!;
    if (c === stop) return i;
    if (c >= 0x81 && c <= 0xfe) {
      const c2 = b[i + 1]!;
      i += c2 >= 0x30 && c2 <= 0x39 ? 4 : 2;
    } else {
      i++;
    }
  }
  return -1;
}

/** A body as bytes: what the adapters fetch, or already-decoded text re-encoded as UTF-8. */
export function bodyBytes(body: string | Uint8Array): { b: Uint8Array; enc: NameEncoding } {
  return typeof body === 'string'
    ? { b: Buffer.from(body, 'utf8'), enc: 'utf-8' }
    : { b: body, enc: 'gb18030' };
}
