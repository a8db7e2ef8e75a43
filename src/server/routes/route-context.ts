import type { Config } from '../../config/options.js';
import type { JobService } from '../../jobs/job-service.js';
import type { Metrics } from '../../metrics/registry.js';
import type { ModelRegistry } from '../../runtime/model-registry.js';
import type { Readiness } from '../readiness.js';

/** What the route plugins are given: the node's services, nothing global. */
export interface RouteContext {
  config: Config;
  jobs: JobService;
  registry: ModelRegistry;
  metrics: Metrics;
  readiness: Readiness;
}
