// infernode_jobs_rejected_total counts every refusal of a request that submits work, wherever it is raised:
// Fastify's body parser (not JSON, over --body-limit, a wrong Content-Type), the auth hook, a route's envelope
// checks, the job service (queue full, draining). Counted once, where the answer is made, so that no path is missed.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { toApiError } from './error-handler.js';

export type RejectionReason = 'queue_full' | 'draining' | 'invalid' | 'unauthorized';

/** Submissions are the POST routes of scope jobs:write; reads, cancels and model administration are not. */
const submitsWork = (request: FastifyRequest): boolean => request.method === 'POST' && request.routeOptions.config.scope === 'jobs:write';

/** Why a submission was refused, or null for an error that is not a refusal (a 500). */
export function rejectionReason(err: Error): RejectionReason | null {
  const apiError = toApiError(err);
  if (!apiError || apiError.code === 'internal') return null;
  if (apiError.code === 'unauthorized' || apiError.code === 'forbidden') return 'unauthorized';
  if (apiError.code === 'queue_full' || apiError.code === 'draining') return apiError.code;
  return 'invalid';
}

export function countRejections(app: FastifyInstance, count: (reason: RejectionReason) => void): void {
  app.addHook('onError', async (request, _reply, err) => {
    const reason = submitsWork(request) ? rejectionReason(err) : null;
    if (reason) count(reason);
  });
}
