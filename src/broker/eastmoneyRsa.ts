/**
 * The password encryption of 东方财富's web trading login (`EMTradeEncrypt.encrypt` in the site's
 * JSEncrypt bundle): RSA PKCS#1 v1.5 with the site's 1024-bit public key, base64. The key below
 * is the one riiy/emtl `src/emtl/utils.py` and Depblu/emt_trade `emt_login_corrected.py` (taken
 * from BaseJS.js) both carry. Padding is random, so every call gives a different ciphertext;
 * the site accepts each of them.
 */
import { constants, createPublicKey, publicEncrypt, type KeyObject } from 'node:crypto';

export const SITE_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDHdsyxT66pDG4p73yope7jxA92
c0AT4qIJ/xtbBcHkFPK77upnsfDTJiVEuQDH+MiMeb+XhCLNKZGp0yaUU6GlxZdp
+nLW8b7Kmijr3iepaDhcbVTsYBWchaWUXauj9Lrhz58/6AE/NF0aMolxIGpsi+ST
2hSHPu3GSXMdhPCkWQIDAQAB
-----END PUBLIC KEY-----`;

/**
 * A PEM public key, or the base64 of its DER (SubjectPublicKeyInfo) as JSEncrypt's setPublicKey
 * takes it. Throws with a one-line reason on anything else.
 */
export function parsePublicKey(text: string): KeyObject {
  const t = text.trim();
  try {
    if (t.includes('-----BEGIN')) return createPublicKey(t.replace(/\\n/g, '\n'));
    if (!/^[A-Za-z0-9+/=\s]+$/.test(t)) throw new Error('not base64');
    return createPublicKey({
      key: Buffer.from(t.replace(/\s+/g, ''), 'base64'),
      format: 'der',
      type: 'spki',
    });
  } catch {
    throw new Error('is not an RSA public key (a PEM block or the base64 of its DER form)');
  }
}

export function sitePublicKey(override?: string): KeyObject {
  return parsePublicKey(override ?? SITE_PUBLIC_KEY);
}

/** EMTradeEncrypt.encrypt(text): PKCS#1 v1.5, base64. */
export function emEncrypt(key: KeyObject, text: string): string {
  return publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(text, 'utf8')).toString(
    'base64',
  );
}
