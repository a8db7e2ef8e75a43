import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../../config/options.js';

export interface TlsFlags {
  tlsCert: string | null;
  tlsKey: string | null;
  tlsClientCa: string | null;
}

/** Fastify's `https` option: a server certificate, and with a client CA, mandatory client certificates. */
export type HttpsOptions = {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
};

async function readPem(flag: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new ConfigError(`--${flag}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/**
 * null without --tls-cert (plain HTTP). Reads and checks the files now, so a wrong path or a key that does
 * not match the certificate stops the start with a ConfigError rather than failing the first handshake.
 */
export async function buildHttpsOptions({ tlsCert, tlsKey, tlsClientCa }: TlsFlags): Promise<HttpsOptions | null> {
  if (tlsCert === null && tlsKey === null) {
    if (tlsClientCa !== null) throw new ConfigError('--tls-client-ca: needs --tls-cert and --tls-key (mTLS is TLS first)');
    return null;
  }
  if (tlsCert === null) throw new ConfigError('--tls-key: needs --tls-cert');
  if (tlsKey === null) throw new ConfigError('--tls-cert: needs --tls-key');
  const options: HttpsOptions = { cert: await readPem('tls-cert', tlsCert), key: await readPem('tls-key', tlsKey) };
  if (tlsClientCa !== null) {
    options.ca = await readPem('tls-client-ca', tlsClientCa);
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  try {
    createSecureContext(options);
  } catch (err) {
    // OpenSSL's reason ("key values mismatch", "no start line") names the fault; it holds no key material.
    throw new ConfigError(`--tls-cert/--tls-key/--tls-client-ca: rejected by OpenSSL: ${(err as Error).message}`);
  }
  return options;
}
