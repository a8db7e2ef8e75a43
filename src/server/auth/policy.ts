import { BlockList, isIP } from 'node:net';

export interface AuthPolicyInput {
  /** the address the API listens on (--host) */
  host: string;
  tokensConfigured: boolean;
  insecureNoAuth: boolean;
}

export type AuthPolicy = { authEnabled: boolean } | { error: string };

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 (also IPv4-mapped and bracketed forms) and localhost; any other name may reach a network. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  if (h === 'localhost') return true;
  const family = isIP(h);
  return family !== 0 && LOOPBACK.check(h, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The start-up rule of API.md: tokens turn auth on; no tokens is fine on loopback, and elsewhere only
 * with --insecure-no-auth. An `error` is one line for the CLI to print before it exits 2.
 */
export function checkAuthPolicy({ host, tokensConfigured, insecureNoAuth }: AuthPolicyInput): AuthPolicy {
  if (tokensConfigured && insecureNoAuth) return { error: '--insecure-no-auth and --tokens-file contradict each other; drop one' };
  if (tokensConfigured) return { authEnabled: true };
  if (insecureNoAuth || isLoopbackHost(host)) return { authEnabled: false };
  return {
    error: `refusing to listen on ${host} without tokens: anyone who can reach it could run jobs; give --tokens-file, or --insecure-no-auth to accept that`,
  };
}
