import { readFile } from 'node:fs/promises';
import type { JobType } from '../jobs/types.js';
import { BenchUsageError } from './options.js';

export type BenchInput = Record<string, unknown>;

const CHAT_PROMPTS = [
  'Tell me a short story about a lighthouse keeper.',
  'Explain how a bicycle stays upright.',
  'Write a poem about the sea at night.',
  'What should I pack for a week in the mountains?',
  'Describe the taste of a ripe peach to someone who has never had one.',
  'Summarise the plot of a detective novel in a few sentences.',
  'Give three tips for keeping a garden in a dry summer.',
  'Why is the sky blue?',
];

const IMAGE_PROMPTS = [
  'a red apple on a wooden table',
  'a blue lake under mountains',
  'a green forest in the morning',
  'a yellow field of sunflowers',
  'an orange sunset over the sea',
  'a purple flower in a glass vase',
];

/** Inputs used when no --inputs file is given: modest sizes, so the figures are about serving, not one huge request. */
export const BUILT_IN_INPUTS: Record<Exclude<JobType, 'tensor'>, BenchInput[]> = {
  chat: CHAT_PROMPTS.map((content) => ({ messages: [{ role: 'user', content }], max_tokens: 64 })),
  image: IMAGE_PROMPTS.map((prompt, i) => ({ prompt, steps: 8, seed: i })),
  video: IMAGE_PROMPTS.map((prompt, i) => ({ prompt, frames: 8, steps: 4, seed: i })),
};

/** A JSONL file, one job input object a line; blank lines are skipped. */
export function parseInputsJsonl(text: string, source: string): BenchInput[] {
  const inputs: BenchInput[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new BenchUsageError(`--inputs: ${source} line ${i + 1} is not valid JSON`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new BenchUsageError(`--inputs: ${source} line ${i + 1} must be a JSON object (a job input)`);
    }
    inputs.push(value as BenchInput);
  });
  if (inputs.length === 0) throw new BenchUsageError(`--inputs: ${source} holds no inputs`);
  return inputs;
}

export async function readInputsFile(path: string): Promise<BenchInput[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new BenchUsageError(`--inputs: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseInputsJsonl(text, path);
}

/** --max-tokens and --ignore-eos, set on every chat input. */
export function withChatLimits(inputs: BenchInput[], maxTokens: number | null, ignoreEos: boolean): BenchInput[] {
  const set = { ...(maxTokens === null ? {} : { max_tokens: maxTokens }), ...(ignoreEos ? { ignore_eos: true } : {}) };
  return Object.keys(set).length === 0 ? inputs : inputs.map((input) => ({ ...input, ...set }));
}

interface TensorMetadata {
  inputs?: { name: string; datatype: string; shape: number[] }[];
}

/** One KServe v2 request body filled with a deterministic ramp, free dimensions set to 1. */
export function tensorInputFromMetadata(metadata: TensorMetadata): BenchInput {
  if (!metadata.inputs?.length) throw new BenchUsageError('--type tensor: the model metadata lists no inputs; give --inputs');
  return {
    inputs: metadata.inputs.map(({ name, datatype, shape }) => {
      const concrete = shape.map((d) => (d < 0 ? 1 : d));
      const size = concrete.reduce((a, b) => a * b, 1);
      const data = Array.from({ length: size }, (_, i) => (datatype === 'BOOL' ? i % 2 === 0 : datatype.startsWith('FP') ? (i % 7) / 7 : i % 7));
      return { name, datatype, shape: concrete, data };
    }),
  };
}
