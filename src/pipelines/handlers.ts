import type { JobType } from '../jobs/types.js';
import type { JobHandler } from './job-handler.js';
import { tensorJobHandler } from './tensor/job-handler.js';

/** The main-thread face of each job type. */
export const JOB_HANDLERS: Partial<Record<JobType, JobHandler>> = {
  tensor: tensorJobHandler as JobHandler,
};
