import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, type ErrorCode, ERROR_STATUS, inRequestTerms } from '../errors.js';
import type { PreparedJob } from '../../jobs/job-service.js';
import type { UploadSet } from '../../pipelines/job-handler.js';
import type { TensorDescriptor } from '../../runtime/model-types.js';
import { BodyEndedEarly, BodyReader } from '../kserve/body-reader.js';
import { binaryInputSizes, bodyLayout, stageBinaryInputs } from '../kserve/binary-inputs.js';
import { inferReply, type JsonTensor } from '../kserve/infer-response.js';
import { isJsonObject, type JsonObject } from '../kserve/parameters.js';
import { requestedOutputs, type RequestedOutput } from '../kserve/requested-outputs.js';
import type { RouteContext } from './route-context.js';

/** Read once: GET /v2 reports the version this process started with. */
const { version } = createRequire(import.meta.url)('../../../../package.json') as { version: string };

const SERVER_METADATA = { name: 'infernode', version, extensions: ['binary_tensor_data'] };

/** A refusal of the tensor job's input.inputs[i] names the request's own inputs[i]: infer bodies have no `input`. */
function inInferTerms(err: unknown): unknown {
  if (!(err instanceof ApiError) || !err.field?.startsWith('input.')) return err;
  return new ApiError(err.code, inRequestTerms(err.message), inRequestTerms(err.field), err.retryAfterS);
}

/** An infer request, read and checked: the tensor job's inputs, the outputs wanted, and the scratch its binary inputs went to. */
interface InferRequest {
  body: JsonObject;
  inputs: unknown;
  outputs: RequestedOutput[];
  staged?: { prepared: PreparedJob; uploads: UploadSet };
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

  // a scope of its own, so that bodies other than JSON are taken on this route and stay a 415 everywhere else
  await app.register(async (infer) => {
    const parseJson = infer.getDefaultJsonParser('error', 'error');
    const jsonOf = (request: FastifyRequest, text: string): Promise<unknown> =>
      new Promise((resolve, reject) => {
        void parseJson.call(infer, request, text, (err: Error | null, body?: unknown) => (err ? reject(err) : resolve(body)));
      });

    // tritonclient sends its requests, binary or not, without a Content-Type
    infer.addContentTypeParser('application/octet-stream', async (_request: FastifyRequest, payload: Readable) => payload);
    infer.addContentTypeParser('*', async (request: FastifyRequest, payload: Readable) => {
      if (request.headers['content-type'] !== undefined) {
        throw new ApiError('unsupported_media_type', 'unsupported Content-Type; send application/json, or the binary tensor data extension as application/octet-stream or without a Content-Type');
      }
      return payload;
    });

    function fromJson(body: unknown, outputs: readonly TensorDescriptor[]): InferRequest {
      if (!isJsonObject(body)) throw new ApiError('invalid_request', 'the request body must be a JSON object');
      // no binary data follows a JSON body: its inputs' binary_data_size, and their unsupported parameters, are refused
      binaryInputSizes(body.inputs, null);
      return { body, inputs: body.inputs, outputs: requestedOutputs(body, outputs) };
    }

    /** A JSON header, then (when Inference-Header-Content-Length says where it ends) binary inputs, streamed into scratch. */
    async function fromRaw(request: FastifyRequest, reply: FastifyReply, source: Readable, outputs: readonly TensorDescriptor[]): Promise<InferRequest> {
      const reader = new BodyReader(source);
      let prepared: PreparedJob | undefined;
      try {
        const layout = bodyLayout(request.headers, config);
        const header = await reader.take(layout.headerBytes).catch((err: unknown) => {
          throw err instanceof BodyEndedEarly ? new ApiError('invalid_request', 'the body ended before its JSON header did', 'Inference-Header-Content-Length') : err;
        });
        if (layout.binaryBytes === null) return fromJson(await jsonOf(request, header.toString('utf8')), outputs);
        const body = await jsonOf(request, header.toString('utf8')).catch(() => null);
        if (!isJsonObject(body)) {
          throw new ApiError('invalid_request', 'the body does not start with a JSON object of Inference-Header-Content-Length bytes', 'Inference-Header-Content-Length');
        }
        const wanted = requestedOutputs(body, outputs);
        const sizes = binaryInputSizes(body.inputs, layout.binaryBytes);
        if (!sizes.some((size) => size !== null)) return { body, inputs: body.inputs, outputs: wanted };
        prepared = jobs.prepare();
        request.jobId = prepared.id;
        const vault = prepared.scratch.inputs;
        const inputs = await stageBinaryInputs(reader, body.inputs as unknown[], sizes, vault);
        return { body, inputs, outputs: wanted, staged: { prepared, uploads: { has: (p) => vault.has(p), size: (p) => vault.get(p)?.bytes ?? 0 } } };
      } catch (err) {
        await prepared?.scratch.eraseAll('deleted');
        // what is left of the body is unread, and the client may still be sending it: close rather than drain
        void reply.header('Connection', 'close');
        throw err;
      }
    }

    infer.post<{ Params: { model: string } }>('/v2/models/:model/infer', { config: { scope: 'jobs:write' }, schema: { summary: 'KServe v2 inference on a tensor model', tags: ['kserve'] } }, async (request, reply) => {
      const model = registry.require(request.params.model, 'tensor');
      const read = request.body instanceof Readable
        ? await fromRaw(request, reply, request.body, model.metadata.outputs)
        : fromJson(request.body, model.metadata.outputs);
      const job = await jobs
        .submit(
          request.principal,
          {
            type: 'tensor',
            model: request.params.model,
            input: { inputs: read.inputs },
            priority: 5,
            timeoutS: config.timeoutS,
            outputTtlS: 0,
            webhook: null,
          },
          { ephemeral: true, ...read.staged },
        )
        .catch((err: unknown) => Promise.reject(inInferTerms(err)));
      request.jobId = job.id;
      await job.whenEnded();
      if (job.status !== 'succeeded') {
        // answered, not thrown: the job was admitted, so its end is not a refusal of the request
        const code = (job.error?.code ?? 'internal') as ErrorCode;
        const failure = new ApiError(code in ERROR_STATUS ? code : job.status === 'canceled' ? 'conflict' : 'internal', job.error?.message ?? 'the job did not finish');
        return reply.code(failure.statusCode).send(failure.toBody());
      }
      const envelope = { model_name: request.params.model, model_version: '1', ...(typeof read.body.id === 'string' ? { id: read.body.id } : {}) };
      const answer = inferReply(envelope, (job.result as { outputs: JsonTensor[] }).outputs, read.outputs);
      if ('json' in answer) return answer.json;
      return reply.header('Content-Type', 'application/octet-stream').header('Inference-Header-Content-Length', String(answer.headerBytes)).send(answer.body);
    });
  });
};
