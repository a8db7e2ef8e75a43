import type { ExecutorModelLoader } from '../pipelines/executor-types.js';
import type { ModelType } from './model-types.js';

/** Imported lazily so that an executor only pays for the pipelines of the models it holds. */
export const MODEL_LOADERS: Record<ModelType, () => Promise<ExecutorModelLoader>> = {
  tensor: async () => (await import('../pipelines/tensor/executor-model.js')).loadTensorModel,
  chat: async () => (await import('../pipelines/chat/executor-model.js')).loadChatModel,
  image: async () => (await import('../pipelines/image/executor-model.js')).loadImageModel,
  video: async () => (await import('../pipelines/video/executor-model.js')).loadVideoModel,
};
