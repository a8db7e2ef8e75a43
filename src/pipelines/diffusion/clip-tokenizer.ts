import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

const BOS = '<|startoftext|>';
const EOS = '<|endoftext|>';

/** CLIP's pre-tokenizer split (openai/CLIP simple_tokenizer.py), as its tokenizer.json writes it. */
const CLIP_SPLIT = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

/**
 * CLIP token ids, always `maxLength` long: BOS, the prompt's tokens, EOS, then the pad token. A prompt longer
 * than `maxLength − 2` tokens is truncated as diffusers' pipelines do (the text encoder sees only the first
 * `maxLength` positions); `truncated` says how many tokens were dropped.
 */
export interface ClipEncoding {
  ids: number[];
  truncated: number;
}

/**
 * BOS/EOS, truncation and padding are added here rather than by a post-processor and the library's padding:
 * @huggingface/tokenizers' `encode` takes neither padding nor truncation options, and truncating the body
 * before adding EOS is what keeps EOS in the last position, as CLIP's text encoder expects.
 */
export class ClipTokenizer {
  private readonly bosId: number;
  private readonly eosId: number;

  constructor(
    private readonly tokenizer: Tokenizer,
    readonly maxLength: number,
    private readonly padId: number,
  ) {
    this.bosId = this.idOf(BOS);
    this.eosId = this.idOf(EOS);
  }

  encode(text: string): ClipEncoding {
    const body = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    const room = this.maxLength - 2;
    const kept = body.slice(0, room);
    const ids = [this.bosId, ...kept, this.eosId];
    while (ids.length < this.maxLength) ids.push(this.padId);
    return { ids, truncated: Math.max(0, body.length - room) };
  }

  private idOf(token: string): number {
    const ids = this.tokenizer.encode(token, { add_special_tokens: false }).ids;
    if (ids.length !== 1) throw new Error(`the tokenizer has no ${token} token`);
    return ids[0]!;
  }
}

async function readJson(file: string): Promise<Record<string, unknown> | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * The tokenizer.json a CLIP `vocab.json` + `merges.txt` pair stands for (what transformers' CLIPTokenizerFast
 * converts them to), so that @huggingface/tokenizers runs both layouts: NFC, whitespace collapsed, lower case;
 * CLIP's word split, byte-level alphabet; BPE with `</w>` word ends.
 */
export function clipTokenizerJson(vocab: Record<string, number>, merges: string[]): Record<string, unknown> {
  const special = [BOS, EOS].filter((token) => token in vocab);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: special.map((content) => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true })),
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_SPLIT }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: EOS,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}

/** merges.txt: one "a b" pair a line after the `#version` header. */
const parseMerges = (text: string): string[] => text.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#version'));

/**
 * Loads a diffusers `tokenizer/` directory: `tokenizer.json` when present, else `vocab.json` + `merges.txt`.
 * `tokenizer_config.json` gives `model_max_length` (77 unless set) and the pad token (CLIP pads with EOS
 * unless it names another, e.g. "!" in SD 2.x).
 */
export async function loadClipTokenizer(dir: string): Promise<ClipTokenizer> {
  const [json, config] = await Promise.all([readJson(path.join(dir, 'tokenizer.json')), readJson(path.join(dir, 'tokenizer_config.json'))]);
  const definition = json ?? (await vocabMergesDefinition(dir));
  const tokenizer = new Tokenizer(definition, config ?? {});
  const maxLength = typeof config?.model_max_length === 'number' && config.model_max_length <= 4096 ? config.model_max_length : 77;
  const padToken = tokenText(config?.pad_token) ?? EOS;
  const padIds = tokenizer.encode(padToken, { add_special_tokens: false }).ids;
  if (padIds.length !== 1) throw new Error('the tokenizer cannot encode its pad token as one id');
  return new ClipTokenizer(tokenizer, maxLength, padIds[0]!);
}

async function vocabMergesDefinition(dir: string): Promise<Record<string, unknown>> {
  const [vocab, merges] = await Promise.all([readJson(path.join(dir, 'vocab.json')), readFile(path.join(dir, 'merges.txt'), 'utf8')]);
  if (!vocab) throw new Error('tokenizer/ has neither tokenizer.json nor vocab.json');
  return clipTokenizerJson(vocab as Record<string, number>, parseMerges(merges));
}

/** tokenizer_config.json writes special tokens as strings or as AddedToken objects. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') return (value as { content: string }).content;
  return undefined;
}
