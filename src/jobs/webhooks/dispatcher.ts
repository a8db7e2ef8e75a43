import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import { ConfigError, type Config } from '../../config/options.js';
import type { WebhookSink } from '../job-service.js';
import { checkWebhookUrl, parseWebhookAllow, type WebhookAllowlist } from './allowlist.js';
import { SIGNATURE_HEADER, signatureHeader } from './signature.js';

export interface WebhookDispatcherOptions {
  /** the HMAC-SHA256 key (--webhook-secret) */
  secret: string;
  allow: WebhookAllowlist;
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** attempts per delivery, the first included [6] */
  maxAttempts?: number;
  /** delay before the second attempt; doubled for each next one, then jittered [1000] */
  baseDelayMs?: number;
  /** the longest wait between attempts, Retry-After included [60000] */
  maxDelayMs?: number;
  /** connect and headers timeout of one attempt [10000]; the response body is not read */
  timeoutMs?: number;
}

/** Shorter secrets make the HMAC guessable; the same floor as tokens. */
export const MIN_WEBHOOK_SECRET_LENGTH = 16;

/** One attempt's end: `status` null and `error` set when no response came (network error, timeout). */
type Outcome = { kind: 'delivered' | 'give_up'; status: number } | { kind: 'retry'; status: number | null; retryAfterS: number | null; error?: string };

function retryAfterSeconds(value: string | string[] | undefined): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  return text !== undefined && /^\d{1,6}$/.test(text) ? Number(text) : null;
}

/**
 * POSTs a job's final object to its webhook, signed, off the caller's path: `deliver` returns at once.
 * Network errors, 5xx and 429 are retried with jittered exponential backoff; other statuses end the delivery;
 * redirects are not followed. The allowlist is checked again here, not only at submit time.
 */
export class WebhookDispatcher implements WebhookSink {
  private readonly agent: Agent;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly closing = new AbortController();
  private closed: Promise<void> | null = null;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.maxAttempts = options.maxAttempts ?? 6;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.agent = new Agent({ connect: { timeout: this.timeoutMs }, headersTimeout: this.timeoutMs });
  }

  check(url: string): string | null {
    return checkWebhookUrl(url, this.options.allow);
  }

  deliver(url: string, job: { readonly id: string }): void {
    if (this.closing.signal.aborted) {
      this.options.logger?.warn({ jobId: job.id }, 'webhook not sent: the node is shutting down');
      return;
    }
    const delivery = this.run(url, job)
      .catch((err: unknown) => this.options.logger?.warn({ jobId: job.id, errorClass: (err as Error).name }, 'webhook delivery failed'))
      .finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
  }

  /** Resolves once every delivery has ended: delivered, given up, or stopped by close(). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Shutdown: no new deliveries, no more retries; attempts on the wire finish (bounded by timeoutMs). */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort();
      await this.idle();
      await this.agent.close();
    })();
    return this.closed;
  }

  private async run(url: string, job: { readonly id: string }): Promise<void> {
    const refusal = this.check(url);
    if (refusal) {
      this.options.logger?.warn({ jobId: job.id }, `webhook not sent: ${refusal}`);
      return;
    }
    // The host only: a path or query may carry the receiver's own secret.
    const log = { jobId: job.id, deliveryId: randomUUID(), host: new URL(url).host };
    const body = JSON.stringify(job);
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(url, body, log.deliveryId);
      if (outcome.kind === 'delivered') {
        this.options.logger?.info({ ...log, attempt, status: outcome.status }, 'webhook delivered');
        return;
      }
      const why = { attempt, status: outcome.status, error: 'error' in outcome ? outcome.error : undefined };
      if (outcome.kind !== 'retry' || attempt >= this.maxAttempts) {
        this.options.logger?.warn({ ...log, ...why }, 'webhook delivery given up');
        return;
      }
      try {
        await sleep(this.delayMs(attempt, outcome.retryAfterS), undefined, { signal: this.closing.signal });
      } catch {
        this.options.logger?.warn({ ...log, ...why }, 'webhook retry dropped: the node is shutting down');
        return;
      }
    }
  }

  private async attempt(url: string, body: string, deliveryId: string): Promise<Outcome> {
    try {
      const res = await request(url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'infernode-webhook',
          'infernode-delivery': deliveryId,
          [SIGNATURE_HEADER.toLowerCase()]: signatureHeader(this.options.secret, body, Math.floor(Date.now() / 1000)),
        },
        body,
      });
      // The status is the answer; a body is not read at all: undici's body timeout bounds only the gap between
      // chunks, so a receiver sending a byte every few seconds would hold the attempt, and shutdown, for ever.
      // (undici reports the unread rest as an abort, which is what is meant here)
      res.body.once('error', () => undefined).destroy();
      const status = res.statusCode;
      if (status >= 200 && status < 300) return { kind: 'delivered', status };
      if (status >= 500 || status === 429) return { kind: 'retry', status, retryAfterS: retryAfterSeconds(res.headers['retry-after']) };
      return { kind: 'give_up', status };
    } catch (err) {
      // The error's code only: undici messages can quote the URL.
      return { kind: 'retry', status: null, retryAfterS: null, error: (err as NodeJS.ErrnoException).code ?? (err as Error).name };
    }
  }

  /** Exponential backoff with "equal jitter" (half fixed, half random), never sooner than Retry-After asks. */
  private delayMs(attempt: number, retryAfterS: number | null): number {
    const exp = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    const jittered = exp / 2 + Math.random() * (exp / 2);
    return Math.min(this.maxDelayMs, Math.max(jittered, (retryAfterS ?? 0) * 1000));
  }
}

/** The node's dispatcher from --webhook-secret and --webhook-allow; ConfigError (exit 2) when they disagree. */
export function webhookDispatcherFromConfig(config: Pick<Config, 'webhookSecret' | 'webhookAllow'>, logger?: Pick<Logger, 'info' | 'warn'>): WebhookDispatcher {
  const allow = parseWebhookAllow(config.webhookAllow);
  const secret = config.webhookSecret ?? '';
  if (allow.rules.length > 0 && secret.length < MIN_WEBHOOK_SECRET_LENGTH)
    throw new ConfigError(`--webhook-secret: needs at least ${MIN_WEBHOOK_SECRET_LENGTH} characters when --webhook-allow names hosts (deliveries are signed)`);
  return new WebhookDispatcher({ secret, allow, ...(logger ? { logger } : {}) });
}
