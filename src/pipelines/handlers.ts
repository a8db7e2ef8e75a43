import type { JobType } from '../jobs/types.js';
import type { FfmpegUnavailable, VideoEncoding } from '../media/ffmpeg-binary.js';
import { chatJobHandler } from './chat/job-handler.js';
import { imageJobHandler } from './image/job-handler.js';
import type { JobHandler } from './job-handler.js';
import { tensorJobHandler } from './tensor/job-handler.js';
import { createVideoJobHandler } from './video/job-handler.js';

export interface HandlerDeps {
  /** ffmpeg and the encoders, settled once at start (`--video-encoder`) */
  videoEncoding: VideoEncoding | FfmpegUnavailable;
  /** `--compute-nice`, for ffmpeg */
  computeNice: number;
}

/** The main-thread face of each job type. */
export function createJobHandlers(deps: HandlerDeps): Partial<Record<JobType, JobHandler>> {
  return {
    tensor: tensorJobHandler as JobHandler,
    chat: chatJobHandler as JobHandler,
    image: imageJobHandler as JobHandler,
    video: createVideoJobHandler(async () => deps.videoEncoding, deps.computeNice) as JobHandler,
  };
}
