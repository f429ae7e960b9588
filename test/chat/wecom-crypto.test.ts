import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  WecomCrypto,
  WecomCryptoCode,
  WecomCryptoError,
  aesKey,
  decrypt,
  encrypt,
  signature,
  verifySignature,
} from '../../src/chat/wecom/crypto.ts';
import { fixtureText } from '../helpers/fixtures.ts';

interface Vector {
  name: string;
  token: string;
  encodingAESKey: string;
  receiveId: string;
  timestamp: string;
  nonce: string;
  msgSignature: string;
  encrypt: string;
  expected: { plaintext: string; random16Ascii: string; msgLenBytes: number; pkcs7PadBytes: number };
}

const vectors = JSON.parse(fixtureText('wecom-crypto-vectors.json')) as Vector[];
const A = vectors[0]!;

function codeOf(fn: () => unknown): number | string {
  try {
    fn();
  } catch (e) {
    if (e instanceof WecomCryptoError) return e.code;
    return `untyped ${(e as Error).name}: ${(e as Error).message}`;
  }
  return 'no error';
}

describe('WXBizMsgCrypt against the official vectors', () => {
  it('has the three fixture vectors', () => {
    expect(vectors.map((v) => v.name)).toEqual([
      'wecom-2016-url-verify',
      'wecom-2016-post-xml',
      'wecom-2025-post-json',
    ]);
  });

  for (const v of vectors) {
    describe(v.name, () => {
      it('signs sha1(sorted token, timestamp, nonce, encrypt) to the published msg_signature', () => {
        expect(signature(v.token, v.timestamp, v.nonce, v.encrypt)).toBe(v.msgSignature);
        expect(verifySignature(v.token, v.timestamp, v.nonce, v.encrypt, v.msgSignature)).toBe(true);
      });

      it('decrypts to the published plaintext, receive id and random prefix', () => {
        const d = decrypt(v.encodingAESKey, v.encrypt, v.receiveId);
        expect(d.message).toBe(v.expected.plaintext);
        expect(Buffer.byteLength(d.message, 'utf8')).toBe(v.expected.msgLenBytes);
        expect(d.receiveId).toBe(v.receiveId);
        expect(d.random.toString('latin1')).toBe(v.expected.random16Ascii);
      });

      it('re-encrypts byte for byte with the same random prefix (PKCS#7 over 32-byte blocks)', () => {
        const random = Buffer.from(v.expected.random16Ascii, 'latin1');
        expect(encrypt(v.encodingAESKey, v.expected.plaintext, v.receiveId, random)).toBe(v.encrypt);
        const total = 16 + 4 + v.expected.msgLenBytes + Buffer.byteLength(v.receiveId);
        expect(32 - (total % 32)).toBe(v.expected.pkcs7PadBytes);
      });

      it('opens through WecomCrypto with token, key and corp id bound', () => {
        const c = new WecomCrypto(v.token, v.encodingAESKey, v.receiveId);
        expect(c.open(v.msgSignature, v.timestamp, v.nonce, v.encrypt)).toBe(v.expected.plaintext);
      });
    });
  }
});

describe('WXBizMsgCrypt refuses bad input with a typed error', () => {
  it('refuses a signature with one flipped character (-40001)', () => {
    const c = new WecomCrypto(A.token, A.encodingAESKey, A.receiveId);
    const flipped = (A.msgSignature[0] === '0' ? '1' : '0') + A.msgSignature.slice(1);
    expect(verifySignature(A.token, A.timestamp, A.nonce, A.encrypt, flipped)).toBe(false);
    expect(codeOf(() => c.open(flipped, A.timestamp, A.nonce, A.encrypt))).toBe(
      WecomCryptoCode.ValidateSignature,
    );
    expect(verifySignature(A.token, A.timestamp, A.nonce, A.encrypt, 'short')).toBe(false);
    expect(verifySignature(A.token, A.timestamp, A.nonce, A.encrypt, '')).toBe(false);
  });

  it('refuses the right ciphertext for another corp id (-40005)', () => {
    expect(codeOf(() => decrypt(A.encodingAESKey, A.encrypt, 'wx5823bf96d3bd56c7'))).toBe(
      WecomCryptoCode.ValidateCorpid,
    );
  });

  it('refuses garbage that is not base64 (-40010)', () => {
    expect(codeOf(() => decrypt(A.encodingAESKey, 'not base64 at all!!'))).toBe(WecomCryptoCode.DecodeBase64);
    expect(codeOf(() => decrypt(A.encodingAESKey, ''))).toBe(WecomCryptoCode.DecodeBase64);
    expect(codeOf(() => decrypt(A.encodingAESKey, A.encrypt.slice(0, -1)))).toBe(
      WecomCryptoCode.DecodeBase64,
    );
  });

  it('refuses a ciphertext that is not a whole number of blocks (-40007)', () => {
    // 20 bytes of valid base64: decodes fine, but is not a multiple of 16.
    const odd = Buffer.alloc(20, 7).toString('base64');
    expect(codeOf(() => decrypt(A.encodingAESKey, odd))).toBe(WecomCryptoCode.DecryptAES);
    const oneBlock = Buffer.alloc(16, 7).toString('base64');
    expect(codeOf(() => decrypt(A.encodingAESKey, oneBlock))).toBe(WecomCryptoCode.DecryptAES);
  });

  it('refuses a truncated ciphertext (whole blocks cut off) as bad padding (-40008)', () => {
    const full = Buffer.from(A.encrypt, 'base64');
    const truncated = full.subarray(0, full.length - 16).toString('base64');
    expect(codeOf(() => decrypt(A.encodingAESKey, truncated, A.receiveId))).toBe(
      WecomCryptoCode.IllegalBuffer,
    );
  });

  it('refuses a ciphertext under the wrong key as bad padding (-40008)', () => {
    // Set B's key from reference/chat.md §3.6.
    const other = 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C';
    expect(codeOf(() => decrypt(other, A.encrypt))).toBe(WecomCryptoCode.IllegalBuffer);
  });

  it('refuses padding whose bytes disagree, or that exceeds 32', () => {
    const key = aesKey(A.encodingAESKey);
    const raw = (plain: Buffer) => {
      // Encrypt arbitrary blocks with no padding, to hand-craft bad padding.
      const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
      c.setAutoPadding(false);
      return Buffer.concat([c.update(plain), c.final()]).toString('base64');
    };
    const good = Buffer.alloc(64, 0);
    good.writeUInt32BE(3, 16);
    const disagree = Buffer.from(good);
    disagree.fill(5, 59);
    disagree[60] = 4;
    expect(codeOf(() => decrypt(A.encodingAESKey, raw(disagree)))).toBe(WecomCryptoCode.IllegalBuffer);
    const tooBig = Buffer.from(good);
    tooBig[63] = 33;
    expect(codeOf(() => decrypt(A.encodingAESKey, raw(tooBig)))).toBe(WecomCryptoCode.IllegalBuffer);
    const zero = Buffer.from(good);
    zero[63] = 0;
    expect(codeOf(() => decrypt(A.encodingAESKey, raw(zero)))).toBe(WecomCryptoCode.IllegalBuffer);
    // A well-padded block whose length field points past the end.
    const longLen = Buffer.alloc(64, 32);
    longLen.fill(0, 0, 32);
    longLen.writeUInt32BE(13, 16);
    expect(codeOf(() => decrypt(A.encodingAESKey, raw(longLen)))).toBe(WecomCryptoCode.IllegalBuffer);
    longLen.writeUInt32BE(12, 16);
    expect(decrypt(A.encodingAESKey, raw(longLen))).toMatchObject({
      message: '\0'.repeat(12),
      receiveId: '',
    });
  });

  it('refuses an EncodingAESKey that is not 43 base64 characters (-40004)', () => {
    expect(codeOf(() => aesKey('short'))).toBe(WecomCryptoCode.IllegalAesKey);
    expect(codeOf(() => aesKey('!'.repeat(43)))).toBe(WecomCryptoCode.IllegalAesKey);
    expect(codeOf(() => new WecomCrypto('t', A.encodingAESKey + 'x', 'c'))).toBe(
      WecomCryptoCode.IllegalAesKey,
    );
  });

  it('round-trips CJK text and keeps the key out of error messages', () => {
    const enc = encrypt(A.encodingAESKey, '卖出 600519 ✓', 'corp');
    expect(decrypt(A.encodingAESKey, enc, 'corp').message).toBe('卖出 600519 ✓');
    try {
      decrypt(A.encodingAESKey, enc, 'other');
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).not.toContain(A.encodingAESKey);
    }
  });
});
