// Imported first by every worker's entry module, for its side effect: the worker lowers itself (to workerData.nice)
// before its other imports load native libraries whose own threads (libvips', ONNX Runtime's) would otherwise be
// made at the main thread's priority. ES modules evaluate their imports in order, so this runs before them.
import { workerData } from 'node:worker_threads';
import { lowerThisThread } from './thread-priority.js';

lowerThisThread((workerData as { nice?: number } | null)?.nice ?? 0);
