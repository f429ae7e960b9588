/**
 * Splits text into chunks of at most maxBytes UTF-8 bytes, breaking on line boundaries where it
 * can and inside a line (on a code point boundary) only when a single line is too long. WeCom
 * rejects over-long content outright (45002) and empty content (44004), so long summaries go out
 * as several messages and blank-only chunks are dropped.
 */
export function splitUtf8(text: string, maxBytes: number): string[] {
  if (!Number.isInteger(maxBytes) || maxBytes < 4) throw new RangeError('maxBytes must be an integer >= 4');
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text.trim() === '' ? [] : [text];
  const chunks: string[] = [];
  let lines: string[] = [];
  let bytes = 0;
  const flush = () => {
    const chunk = lines.join('\n');
    if (chunk.trim() !== '') chunks.push(chunk);
    lines = [];
    bytes = 0;
  };
  for (const line of text.split('\n')) {
    const lineBytes = Buffer.byteLength(line, 'utf8');
    const needed = lines.length === 0 ? lineBytes : bytes + 1 + lineBytes;
    if (needed <= maxBytes) {
      lines.push(line);
      bytes = needed;
      continue;
    }
    flush();
    if (lineBytes <= maxBytes) {
      lines.push(line);
      bytes = lineBytes;
    } else {
      chunks.push(...hardSplit(line, maxBytes));
    }
  }
  flush();
  return chunks;
}

function hardSplit(line: string, maxBytes: number): string[] {
  const pieces: string[] = [];
  let piece = '';
  let bytes = 0;
  for (const ch of line) {
    const b = Buffer.byteLength(ch, 'utf8');
    if (bytes + b > maxBytes) {
      pieces.push(piece);
      piece = '';
      bytes = 0;
    }
    piece += ch;
    bytes += b;
  }
  if (bytes > 0) pieces.push(piece);
  return pieces;
}
