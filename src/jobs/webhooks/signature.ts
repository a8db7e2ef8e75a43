import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Infernode-Signature';

const hmacHex = (secret: string, timestampS: number, body: string | Buffer): string =>
  createHmac('sha256', secret).update(`${timestampS}.`).update(body).digest('hex');

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the timestamp is signed too, so a replay can be dated. */
export function signatureHeader(secret: string, body: string | Buffer, timestampS: number): string {
  return `t=${timestampS},v1=${hmacHex(secret, timestampS, body)}`;
}

/**
 * For receivers: true when `header` signs exactly these body bytes with `secret` and its timestamp is within
 * `toleranceS` of now. Any of several `v1=` values may match (a sender rotating secrets). Constant-time.
 */
export function verifySignature(secret: string, header: string | undefined, body: string | Buffer, toleranceS = 300, nowS = Math.floor(Date.now() / 1000)): boolean {
  if (!header || header.length > 1024) return false;
  const fields = header.split(',').map((part) => part.trim().split('=', 2) as [string, string | undefined]);
  const t = fields.find(([k]) => k === 't')?.[1];
  if (t === undefined || !/^\d{1,12}$/.test(t)) return false;
  const timestampS = Number(t);
  if (Math.abs(nowS - timestampS) > toleranceS) return false;
  const expected = Buffer.from(hmacHex(secret, timestampS, body), 'hex');
  let ok = false;
  for (const [key, value] of fields) {
    if (key !== 'v1' || value === undefined || !/^[0-9a-f]{64}$/i.test(value)) continue;
    if (timingSafeEqual(Buffer.from(value, 'hex'), expected)) ok = true;
  }
  return ok;
}
