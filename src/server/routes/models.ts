import type { FastifyPluginAsync } from 'fastify';
import { ApiError } from '../errors.js';
import type { ModelEntry } from '../../runtime/model-registry.js';
import type { RouteContext } from './route-context.js';

function modelView(entry: ModelEntry) {
  return {
    id: entry.name,
    object: 'model' as const,
    created: entry.createdUnix,
    owned_by: 'infernode',
    type: entry.spec?.type ?? null,
    status: entry.status,
    device: entry.devices.length ? entry.devices.join(',') : null,
    providers: entry.devices.map((d) => (d.startsWith('cuda') ? 'CUDAExecutionProvider' : 'CPUExecutionProvider')),
    ...(entry.lastError ? { error: entry.lastError } : {}),
  };
}

export const modelRoutes: FastifyPluginAsync<RouteContext> = async (app, { registry }) => {
  app.get('/v1/models', { config: { scope: 'jobs:write' }, schema: { summary: 'List models (OpenAI shape, with type, status and device)', tags: ['models'] } }, async () => ({
    object: 'list',
    data: registry.list().map(modelView),
  }));

  app.post<{ Params: { name: string } }>('/v1/models/:name/load', { config: { scope: 'models:admin' }, schema: { summary: 'Load or reload a model', tags: ['models'] } }, async (request) => {
    const entry = await registry.load(request.params.name);
    if (entry.lastError) {
      const kept = entry.status === 'loaded' ? '; the previously loaded copy keeps serving' : '';
      throw new ApiError('invalid_request', `the model failed to load: ${entry.lastError}${kept}`, 'name');
    }
    return modelView(entry);
  });

  app.post<{ Params: { name: string } }>('/v1/models/:name/unload', { config: { scope: 'models:admin' }, schema: { summary: 'Unload a model', tags: ['models'] } }, async (request) =>
    modelView(await registry.unload(request.params.name)),
  );
};
