import { isIP } from 'node:net';
import { ConfigError } from '../../config/options.js';

/** One `--webhook-allow` entry: a host, or with `*.` every host under a domain; a port narrows it to that port. */
type HostRule = { kind: 'exact'; host: string; port: string | null } | { kind: 'subdomains'; suffix: string; port: string | null };

export interface WebhookAllowlist {
  readonly rules: readonly HostRule[];
}

const MAX_URL_LENGTH = 2048;

const stripDot = (host: string): string => host.replace(/\.$/, '');

/** The URL's effective port, so `host:443` matches `https://host/` as well as `https://host:443/`. */
function portOf(url: URL): string {
  if (url.port) return url.port;
  return url.protocol === 'https:' ? '443' : '80';
}

function parseRule(entry: string): HostRule {
  const wildcard = entry.startsWith('*.');
  const rest = wildcard ? entry.slice(2) : entry;
  let url: URL | null = null;
  try {
    url = /^[^/?#@\\]+$/.test(rest) ? new URL(`http://${rest}`) : null;
  } catch {
    url = null;
  }
  if (!url || url.hostname === '') throw new ConfigError(`--webhook-allow: "${entry}" is not a host, host:port or *.domain`);
  const host = stripDot(url.hostname);
  // `new URL` drops :80 for http, so read the port from the text.
  const port = /:(\d+)$/.exec(rest)?.[1] ?? null;
  if (!wildcard) return { kind: 'exact', host, port: port === null ? null : String(Number(port)) };
  if (isIP(host.replace(/^\[(.*)\]$/, '$1')) !== 0) throw new ConfigError(`--webhook-allow: "${entry}": a wildcard needs a domain name, not an IP address`);
  return { kind: 'subdomains', suffix: `.${host}`, port: port === null ? null : String(Number(port)) };
}

/**
 * Parses `--webhook-allow` entries (the CLI has split the comma list): `host`, `host:port`, `*.example.com`,
 * `*.example.com:8443`, IPs (IPv6 in brackets). A bare `*` is refused: an open webhook is a request forgery
 * tool. No entries: no webhooks at all.
 */
export function parseWebhookAllow(entries: readonly string[]): WebhookAllowlist {
  return {
    rules: entries.map((raw) => {
      const entry = raw.trim().toLowerCase();
      if (entry === '*' || entry === '*.*') throw new ConfigError('--webhook-allow: "*" would let jobs make the node call any host; name the hosts');
      return parseRule(entry);
    }),
  };
}

function allows(rule: HostRule, host: string, port: string): boolean {
  if (rule.port !== null && rule.port !== port) return false;
  return rule.kind === 'exact' ? host === rule.host : host.endsWith(rule.suffix);
}

/**
 * null when the node may POST to `url`, else a message for a 400 on the `webhook` field. Messages never
 * quote the URL: it may carry a secret in its query.
 */
export function checkWebhookUrl(url: string, allow: WebhookAllowlist): string | null {
  if (allow.rules.length === 0) return 'webhooks are off on this node (no --webhook-allow)';
  if (url.length > MAX_URL_LENGTH) return `webhook must be a URL of at most ${MAX_URL_LENGTH} characters`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'webhook must be an absolute http or https URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'webhook must be an absolute http or https URL';
  if (parsed.username || parsed.password) return 'webhook must not carry credentials in the URL';
  const host = stripDot(parsed.hostname);
  const port = portOf(parsed);
  return allow.rules.some((rule) => allows(rule, host, port)) ? null : 'webhook host is not allowed by this node\'s --webhook-allow';
}
