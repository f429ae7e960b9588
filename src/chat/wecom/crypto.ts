/**
 * WXBizMsgCrypt, the envelope WeCom wraps every callback in (reference/chat.md §3.4).
 *
 * Plaintext = random(16) ‖ msgLen(4, big-endian) ‖ msg ‖ receiveId, PKCS#7-padded to a 32-byte
 * block, AES-256-CBC with key = base64(EncodingAESKey + "=") and IV = key[0..16].
 * Signature = sha1 over the four values sorted lexicographically and concatenated.
 *
 * Everything a sender controls is validated before it reaches node:crypto, and any failure comes
 * out as a WecomCryptoError carrying the official error code, never a raw OpenSSL/RangeError.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SealGuardError } from '../../domain/errors.ts';

/** The official ierror.py codes we can produce. */
export const WecomCryptoCode = {
  ValidateSignature: -40001,
  IllegalAesKey: -40004,
  ValidateCorpid: -40005,
  DecryptAES: -40007,
  IllegalBuffer: -40008,
  DecodeBase64: -40010,
} as const;
export type WecomCryptoCode = (typeof WecomCryptoCode)[keyof typeof WecomCryptoCode];

export class WecomCryptoError extends SealGuardError {
  override name = 'WecomCryptoError';
  constructor(
    readonly code: WecomCryptoCode,
    message: string,
  ) {
    super(message);
  }
}

const BLOCK = 32;
const RANDOM_BYTES = 16;
const HEADER = RANDOM_BYTES + 4;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function signature(token: string, timestamp: string, nonce: string, encrypt: string): string {
  return createHash('sha1').update([token, timestamp, nonce, encrypt].sort().join('')).digest('hex');
}

/** Constant-time check of a msg_signature; any malformed value is simply "not equal". */
export function verifySignature(
  token: string,
  timestamp: string,
  nonce: string,
  encrypt: string,
  msgSignature: string,
): boolean {
  const expected = Buffer.from(signature(token, timestamp, nonce, encrypt), 'latin1');
  const given = Buffer.from(msgSignature.toLowerCase(), 'latin1');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Decodes the 43-character EncodingAESKey into the 32-byte AES key. */
export function aesKey(encodingAESKey: string): Buffer {
  if (encodingAESKey.length !== 43 || !BASE64.test(encodingAESKey)) {
    throw new WecomCryptoError(
      WecomCryptoCode.IllegalAesKey,
      'WECOM_AES_KEY must be the 43-character EncodingAESKey from the app callback settings',
    );
  }
  const key = Buffer.from(encodingAESKey + '=', 'base64');
  if (key.length !== 32) {
    throw new WecomCryptoError(WecomCryptoCode.IllegalAesKey, 'WECOM_AES_KEY does not decode to 32 bytes');
  }
  return key;
}

/**
 * Encrypts msg for receiveId. `random` is the 16-byte prefix; it is injectable only so tests can
 * reproduce the official vectors byte for byte.
 */
export function encrypt(
  encodingAESKey: string,
  msg: string,
  receiveId: string,
  random: Buffer = randomBytes(RANDOM_BYTES),
): string {
  if (random.length !== RANDOM_BYTES) throw new RangeError('random prefix must be 16 bytes');
  const key = aesKey(encodingAESKey);
  const body = Buffer.from(msg, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  const plain = Buffer.concat([random, len, body, Buffer.from(receiveId, 'utf8')]);
  const pad = BLOCK - (plain.length % BLOCK);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([
    cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])),
    cipher.final(),
  ]).toString('base64');
}

export interface Decrypted {
  message: string;
  receiveId: string;
  random: Buffer;
}

/**
 * Decrypts an Encrypt/echostr value. When expectedReceiveId is given (the corp id for a
 * self-built app) a mismatch is refused, as the official library does with -40005.
 */
export function decrypt(encodingAESKey: string, encrypted: string, expectedReceiveId?: string): Decrypted {
  const key = aesKey(encodingAESKey);
  if (encrypted.length === 0 || encrypted.length % 4 !== 0 || !BASE64.test(encrypted)) {
    throw new WecomCryptoError(WecomCryptoCode.DecodeBase64, 'ciphertext is not valid base64');
  }
  const data = Buffer.from(encrypted, 'base64');
  // CBC needs whole 16-byte blocks, and a 32-byte pad block plus the header means at least 2 blocks.
  if (data.length < BLOCK || data.length % 16 !== 0) {
    throw new WecomCryptoError(
      WecomCryptoCode.DecryptAES,
      `ciphertext length ${data.length} is not a whole block count`,
    );
  }
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    decipher.setAutoPadding(false);
    plain = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    throw new WecomCryptoError(WecomCryptoCode.DecryptAES, 'AES decryption failed');
  }
  const pad = plain[plain.length - 1] ?? 0;
  if (pad < 1 || pad > BLOCK || !plain.subarray(plain.length - pad).every((b) => b === pad)) {
    throw new WecomCryptoError(
      WecomCryptoCode.IllegalBuffer,
      'bad padding (wrong key or corrupted ciphertext)',
    );
  }
  const content = plain.subarray(0, plain.length - pad);
  if (content.length < HEADER) {
    throw new WecomCryptoError(WecomCryptoCode.IllegalBuffer, 'plaintext shorter than its header');
  }
  const len = content.readUInt32BE(RANDOM_BYTES);
  if (HEADER + len > content.length) {
    throw new WecomCryptoError(WecomCryptoCode.IllegalBuffer, 'message length exceeds the plaintext');
  }
  const receiveId = content.subarray(HEADER + len).toString('utf8');
  if (expectedReceiveId !== undefined && receiveId !== expectedReceiveId) {
    throw new WecomCryptoError(
      WecomCryptoCode.ValidateCorpid,
      'receiveid does not match the configured corp id',
    );
  }
  return {
    message: content.subarray(HEADER, HEADER + len).toString('utf8'),
    receiveId,
    random: Buffer.from(content.subarray(0, RANDOM_BYTES)),
  };
}

/** Token + key + receive id bound together, the way the callback server uses them. */
export class WecomCrypto {
  private readonly key: string;
  constructor(
    private readonly token: string,
    encodingAESKey: string,
    private readonly receiveId: string,
  ) {
    aesKey(encodingAESKey); // fail at construction, not at the first callback
    this.key = encodingAESKey;
  }

  /** Constant-time check of msg_signature over the encrypted value. */
  verify(msgSignature: string, timestamp: string, nonce: string, encrypted: string): boolean {
    return verifySignature(this.token, timestamp, nonce, encrypted, msgSignature);
  }

  /** Decrypts and checks the receive id (no signature check: callers verify first). */
  unseal(encrypted: string): string {
    return decrypt(this.key, encrypted, this.receiveId).message;
  }

  /** Checks msg_signature over encrypted, then decrypts it and checks the receive id. */
  open(msgSignature: string, timestamp: string, nonce: string, encrypted: string): string {
    if (!this.verify(msgSignature, timestamp, nonce, encrypted)) {
      throw new WecomCryptoError(WecomCryptoCode.ValidateSignature, 'msg_signature does not match');
    }
    return this.unseal(encrypted);
  }

  /** Encrypts and signs a message (a passive reply, or a test's simulated WeCom delivery). */
  seal(
    message: string,
    timestamp: string,
    nonce: string,
    random?: Buffer,
  ): { encrypt: string; msgSignature: string } {
    const enc = encrypt(this.key, message, this.receiveId, random);
    return { encrypt: enc, msgSignature: signature(this.token, timestamp, nonce, enc) };
  }
}
