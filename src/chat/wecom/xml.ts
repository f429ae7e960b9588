/**
 * WeCom's callback XML: the envelope (`<xml><Encrypt>…</Encrypt>…</xml>`) and the decrypted
 * message inside it. Parsed as a tree, and a field is read from the root's own children only, the
 * way the official WXBizMsgCrypt does (ElementTree `find("Encrypt")`, sbzhu/weworkapi_python
 * callback_python3/WXBizMsgCrypt.py): a user's text that says `<MsgId>1</MsgId>` sits in a CDATA
 * section of <Content>, which is data, so it can never stand in for the envelope's own MsgId.
 *
 * Deliberately a small strict parser, not a general one: no DTD, no entity declarations, no
 * external anything (a `<!DOCTYPE` or `<!ENTITY` is refused outright), only the five predefined
 * entities and character references, bounded depth and element count.
 */
import { SealGuardError } from '../../domain/errors.ts';
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const MAX_DEPTH = 16;
const MAX_ELEMENTS = 2000;
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*/;

export class XmlError extends SealGuardError {
  override name = 'XmlError';
}

export interface XmlElement {
  name: string;
  /**
   * The element's own character data: CDATA sections verbatim, text with entities decoded.
   * Whitespace-only text between children or around a CDATA section is layout, not data, so it
   * is dropped; a plain text value (`<CreateTime> 1 </CreateTime>`) is trimmed.
   */
  text: string;
  children: XmlElement[];
}

/** Parses one document whose root element is `<xml>`; throws XmlError on anything else. */
export function parseXml(xml: string): XmlElement {
  return new Parser(xml).document();
}

/**
 * The text of the named direct children of the root (first of each name). Nested elements of the
 * same name further down (e.g. inside <SelectedItems>) are never taken.
 */
export function xmlFields<K extends string>(xml: string, names: readonly K[]): Partial<Record<K, string>> {
  const root = parseXml(xml);
  const out: Partial<Record<K, string>> = {};
  for (const name of names) {
    const child = root.children.find((c) => c.name === name);
    if (child) out[name] = child.text;
  }
  return out;
}

class Parser {
  private pos = 0;
  private elements = 0;

  constructor(private readonly s: string) {}

  document(): XmlElement {
    if (this.s.charCodeAt(0) === 0xfeff) this.pos = 1;
    this.misc(true);
    if (!this.s.startsWith('<', this.pos)) throw new XmlError('no root element');
    const root = this.element(0);
    if (root.name !== 'xml') throw new XmlError(`root element is <${root.name}>, expected <xml>`);
    this.misc(false);
    if (this.pos < this.s.length) throw new XmlError('content after the root element');
    return root;
  }

  /** Whitespace, comments and (in the prolog) the XML declaration; refuses DTDs anywhere. */
  private misc(prolog: boolean): void {
    for (;;) {
      while (this.pos < this.s.length && isSpace(this.s.charCodeAt(this.pos))) this.pos++;
      if (this.s.startsWith('<!--', this.pos)) this.comment();
      else if (this.s.startsWith('<?', this.pos)) {
        if (!prolog) throw new XmlError('processing instruction after the root element');
        const end = this.s.indexOf('?>', this.pos + 2);
        if (end < 0) throw new XmlError('unterminated processing instruction');
        this.pos = end + 2;
      } else if (this.s.startsWith('<!', this.pos)) this.refuseDeclaration();
      else return;
    }
  }

  private refuseDeclaration(): never {
    const word = /^<!([A-Za-z]*)/.exec(this.s.slice(this.pos, this.pos + 12))?.[1] ?? '';
    throw new XmlError(
      /^(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)$/i.test(word)
        ? `XML with a ${word.toUpperCase()} declaration is refused`
        : 'unexpected markup declaration',
    );
  }

  private comment(): void {
    const end = this.s.indexOf('-->', this.pos + 4);
    if (end < 0) throw new XmlError('unterminated comment');
    this.pos = end + 3;
  }

  private element(depth: number): XmlElement {
    if (depth >= MAX_DEPTH) throw new XmlError('elements nested too deeply');
    if (++this.elements > MAX_ELEMENTS) throw new XmlError('too many elements');
    this.pos++; // '<'
    const name = this.name();
    // Attributes: WeCom sends none; accepted (well-formed) and ignored.
    for (;;) {
      this.spaces();
      const c = this.s[this.pos];
      if (c === '/' || c === '>') break;
      if (c === undefined) throw new XmlError(`unterminated <${name}>`);
      this.name();
      this.spaces();
      if (this.s[this.pos] !== '=') throw new XmlError(`attribute without a value in <${name}>`);
      this.pos++;
      this.spaces();
      const q = this.s[this.pos];
      if (q !== '"' && q !== "'") throw new XmlError(`unquoted attribute in <${name}>`);
      const end = this.s.indexOf(q, this.pos + 1);
      if (end < 0 || this.s.slice(this.pos + 1, end).includes('<'))
        throw new XmlError(`bad attribute in <${name}>`);
      this.pos = end + 1;
    }
    if (this.s.startsWith('/>', this.pos)) {
      this.pos += 2;
      return { name, text: '', children: [] };
    }
    this.pos++; // '>'
    const children: XmlElement[] = [];
    const pieces: { cdata: boolean; value: string }[] = [];
    for (;;) {
      const lt = this.s.indexOf('<', this.pos);
      if (lt < 0) throw new XmlError(`<${name}> is not closed`);
      if (lt > this.pos) pieces.push({ cdata: false, value: decodeText(this.s.slice(this.pos, lt)) });
      this.pos = lt;
      if (this.s.startsWith('</', this.pos)) {
        this.pos += 2;
        const close = this.name();
        this.spaces();
        if (close !== name || this.s[this.pos] !== '>') throw new XmlError(`<${name}> closed by </${close}>`);
        this.pos++;
        return { name, text: joinText(pieces), children };
      }
      if (this.s.startsWith('<![CDATA[', this.pos)) {
        const end = this.s.indexOf(']]>', this.pos + 9);
        if (end < 0) throw new XmlError('unterminated CDATA section');
        pieces.push({ cdata: true, value: this.s.slice(this.pos + 9, end) });
        this.pos = end + 3;
      } else if (this.s.startsWith('<!--', this.pos)) this.comment();
      else if (this.s.startsWith('<!', this.pos)) this.refuseDeclaration();
      else if (this.s.startsWith('<?', this.pos))
        throw new XmlError('processing instruction inside an element');
      else children.push(this.element(depth + 1));
    }
  }

  private name(): string {
    const m = NAME.exec(this.s.slice(this.pos, this.pos + 256));
    if (!m) throw new XmlError(`bad element name at offset ${this.pos}`);
    this.pos += m[0].length;
    return m[0];
  }

  private spaces(): void {
    while (this.pos < this.s.length && isSpace(this.s.charCodeAt(this.pos))) this.pos++;
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function joinText(pieces: { cdata: boolean; value: string }[]): string {
  const kept = pieces.filter((p) => p.cdata || p.value.trim() !== '');
  if (kept.every((p) => !p.cdata))
    return kept
      .map((p) => p.value)
      .join('')
      .trim();
  return kept.map((p) => p.value).join('');
}

function decodeText(text: string): string {
  if (text.includes(']]>')) throw new XmlError("']]>' in character data");
  return text.replace(/&([^;&\s]*);?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) throw new XmlError('bare & in character data');
    if (ref[0] === '#') {
      const hex = ref[1] === 'x' || ref[1] === 'X';
      const digits = hex ? ref.slice(2) : ref.slice(1);
      if (!(hex ? /^[0-9a-fA-F]{1,6}$/ : /^[0-9]{1,7}$/).test(digits))
        throw new XmlError(`bad character reference &${ref};`);
      const code = parseInt(digits, hex ? 16 : 10);
      if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
        throw new XmlError(`bad character reference &${ref};`);
      return String.fromCodePoint(code);
    }
    const v = ENTITIES[ref];
    // Without a DTD only the five predefined entities exist; anything else is not well-formed.
    if (v === undefined) throw new XmlError(`undeclared entity &${ref};`);
    return v;
  });
}
