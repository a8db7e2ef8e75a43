import { createRequire } from 'node:module';
import type { FastifyPluginAsync } from 'fastify';
import { ApiError, type ErrorCode, ERROR_STATUS, inRequestTerms } from '../errors.js';
import { isJsonObject } from '../kserve/parameters.js';
import { requestedOutputs } from '../kserve/requested-outputs.js';
import type { RouteContext } from './route-context.js';

/** Read once: GET /v2 reports the version this process started with. */
const { version } = createRequire(import.meta.url)('../../../../package.json') as { version: string };

const SERVER_METADATA = { name: 'infernode', version, extensions: [] };

/** A refusal of the tensor job's input.inputs[i] names the request's own inputs[i]: infer bodies have no `input`. */
function inInferTerms(err: unknown): unknown {
  if (!(err instanceof ApiError) || !err.field?.startsWith('input.')) return err;
  return new ApiError(err.code, inRequestTerms(err.message), inRequestTerms(err.field), err.retryAfterS);
}

/** The KServe v2 subset Triton clients use; infer is an adapter onto a `tensor` job. */
export const kserveRoutes: FastifyPluginAsync<RouteContext> = async (app, { config, jobs, registry }) => {
  app.get('/v2', { config: { scope: 'jobs:read' }, schema: { summary: 'KServe v2 server metadata', tags: ['kserve'] } }, async () => SERVER_METADATA);

  app.get<{ Params: { model: string } }>('/v2/models/:model', { config: { scope: 'jobs:read' }, schema: { summary: 'KServe v2 model metadata', tags: ['kserve'] } }, async (request) => {
    const entry = registry.require(request.params.model);
    return {
      name: entry.name,
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: entry.metadata.inputs,
      outputs: entry.metadata.outputs,
    };
  });

  app.get<{ Params: { model: string } }>('/v2/models/:model/ready', { config: { scope: 'jobs:read' }, schema: { summary: 'KServe v2 model readiness', tags: ['kserve'] } }, async (request, reply) => {
    const entry = registry.get(request.params.model);
    if (!entry?.spec) throw new ApiError('model_not_found', 'no model of that name on this node', 'model');
    return reply.code(entry.metadata && entry.devices.length ? 200 : 503).send();
  });

  app.post<{ Params: { model: string } }>('/v2/models/:model/infer', { config: { scope: 'jobs:write' }, schema: { summary: 'KServe v2 inference on a tensor model', tags: ['kserve'] } }, async (request) => {
    const model = registry.require(request.params.model, 'tensor');
    const body = request.body;
    if (!isJsonObject(body)) throw new ApiError('invalid_request', 'the request body must be a JSON object');
    const wanted = requestedOutputs(body, model.metadata.outputs);
    const job = await jobs
      .submit(
        request.principal,
        {
          type: 'tensor',
          model: request.params.model,
          input: { inputs: body.inputs },
          priority: 5,
          timeoutS: config.timeoutS,
          outputTtlS: 0,
          webhook: null,
        },
        { ephemeral: true },
      )
      .catch((err: unknown) => Promise.reject(inInferTerms(err)));
    request.jobId = job.id;
    await job.whenEnded();
    if (job.status !== 'succeeded') {
      const code = (job.error?.code ?? 'internal') as ErrorCode;
      const message = job.error?.message ?? 'the job did not finish';
      if (code in ERROR_STATUS) throw new ApiError(code, message);
      throw new ApiError(job.status === 'canceled' ? 'conflict' : 'internal', message);
    }
    // a tensor job computes every output of its model
    const computed = new Map((job.result as { outputs: Array<{ name: string }> }).outputs.map((o) => [o.name, o]));
    return {
      model_name: request.params.model,
      model_version: '1',
      ...(typeof body.id === 'string' ? { id: body.id } : {}),
      outputs: wanted.map((name) => computed.get(name)),
    };
  });
};
