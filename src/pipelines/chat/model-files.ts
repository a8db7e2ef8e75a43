// Reads a chat model directory in the transformers.js / Optimum layout: configs, tokenizer and chat template.
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { CHAT_GRAPH_CANDIDATES } from '../../runtime/model-catalog.js';
import { PipelineError } from '../executor-types.js';
import type { ChatMessage } from './protocol.js';

type Json = Record<string, unknown>;

async function readJson(file: string, required: boolean): Promise<Json> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Json;
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`cannot read ${path.basename(file)}: ${(err as Error).message}`);
  }
}

export interface ChatModelFiles {
  graph: string;
  config: Json;
  generation: Json;
  tokenizerJson: Json;
  tokenizerConfig: Json;
}

export async function readChatModelFiles(dir: string, manifestGraph: unknown): Promise<ChatModelFiles> {
  const candidates = typeof manifestGraph === 'string' ? [manifestGraph] : CHAT_GRAPH_CANDIDATES;
  let graph: string | undefined;
  for (const candidate of candidates) {
    const file = path.join(dir, candidate);
    if (await access(file).then(() => true, () => false)) {
      graph = file;
      break;
    }
  }
  if (!graph) throw new Error(`no decoder graph (looked for ${candidates.join(', ')})`);
  const [config, generation, tokenizerJson, tokenizerConfig] = await Promise.all([
    readJson(path.join(dir, 'config.json'), true),
    readJson(path.join(dir, 'generation_config.json'), false),
    readJson(path.join(dir, 'tokenizer.json'), true),
    readJson(path.join(dir, 'tokenizer_config.json'), false),
  ]);
  return { graph, config, generation, tokenizerJson, tokenizerConfig };
}

const ids = (value: unknown): number[] => (Array.isArray(value) ? value.filter((v) => typeof v === 'number') : typeof value === 'number' ? [value] : []);

/** Tokenizer, chat template and end-of-sequence ids of one model. */
export class ChatText {
  readonly tokenizer: Tokenizer;
  readonly eosIds: ReadonlySet<number>;
  private readonly template: Template | null;
  private readonly specialTokens: Record<string, string>;
  private readonly specialIds: ReadonlySet<number>;

  constructor(files: ChatModelFiles) {
    this.tokenizer = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
    this.specialIds = new Set([...this.tokenizer.get_added_tokens_decoder()].filter(([, t]) => t.special).map(([id]) => id));
    const tc = files.tokenizerConfig;
    this.specialTokens = {};
    for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) {
      const v = tc[key];
      const content = typeof v === 'string' ? v : typeof (v as Json | null)?.content === 'string' ? ((v as Json).content as string) : null;
      if (content !== null) this.specialTokens[key] = content;
    }
    const eos = new Set([...ids(files.generation.eos_token_id), ...ids(files.config.eos_token_id)]);
    const eosToken = this.specialTokens.eos_token;
    const eosFromTokenizer = eosToken === undefined ? undefined : this.tokenizer.token_to_id(eosToken);
    if (eosFromTokenizer !== undefined) eos.add(eosFromTokenizer);
    this.eosIds = eos;
    const source = chatTemplateSource(tc.chat_template);
    this.template = source === null ? null : new Template(source);
  }

  get hasChatTemplate(): boolean {
    return this.template !== null;
  }

  /** Token ids of a chat (rendered with the template) or of a raw prompt. */
  encodePrompt(input: { messages?: ChatMessage[]; prompt?: string }): number[] {
    if (input.messages) {
      const template = this.template;
      if (!template) throw new PipelineError('invalid_input', 'this model has no chat template; send `prompt` instead of `messages`', { field: 'input.messages' });
      let rendered: string;
      try {
        rendered = this.render(template, input.messages);
      } catch (err) {
        // templates raise fixed sentences of their authors ("roles must alternate ..."), not the messages
        throw new PipelineError('invalid_input', `the model's chat template refused these messages: ${(err as Error).message.slice(0, 200)}`, { field: 'input.messages' });
      }
      return this.tokenizer.encode(rendered, { add_special_tokens: false }).ids;
    }
    return this.tokenizer.encode(input.prompt ?? '').ids;
  }

  /**
   * The fewest characters the template adds for one more message (its role markers), over the roles it takes: with
   * maxTokenChars, a lower bound on the tokens of many short messages, which the content's length alone is not.
   * Measured on empty messages in turn order; 0 where the template takes none of the shapes.
   */
  messageMarkerChars(): number {
    const template = this.template;
    if (!template) return 0;
    const m = (role: ChatMessage['role']): ChatMessage => ({ role, content: '' });
    // each role after each other one, itself included: a template that merges consecutive messages of a role adds
    // less for the second than for the first
    const growth: [ChatMessage[], ChatMessage[]][] = [
      [[m('user')], [m('user'), m('assistant')]],
      [[m('user'), m('assistant')], [m('user'), m('assistant'), m('user')]],
      [[m('user')], [m('system'), m('user')]],
      [[m('user')], [m('user'), m('user')]],
      [[m('user'), m('assistant')], [m('user'), m('assistant'), m('assistant')]],
      [[m('system'), m('user')], [m('system'), m('system'), m('user')]],
    ];
    const added = growth.flatMap(([fewer, more]) => {
      try {
        return [this.render(template, more).length - this.render(template, fewer).length];
      } catch {
        // a shape this template refuses is one no request can send
        return [];
      }
    });
    return added.length ? Math.max(0, Math.min(...added)) : 0;
  }

  private render(template: Template, messages: ChatMessage[]): string {
    return template.render({ ...this.specialTokens, messages, add_generation_prompt: true });
  }

  /**
   * The last prompt tokens to decode along with the first generated ones (so a continuation keeps its leading
   * space), cut after the last special token (so a chat reply does not start with one).
   */
  detokenizerContext(promptIds: readonly number[], count: number): number[] {
    const tail = promptIds.slice(-count);
    let start = 0;
    tail.forEach((id, i) => {
      if (this.specialIds.has(id)) start = i + 1;
    });
    return tail.slice(start);
  }

  decode(tokenIds: number[]): string {
    if (tokenIds.length === 0) return '';
    return this.tokenizer.decode(tokenIds, { skip_special_tokens: true });
  }

  /** The longest text a single vocabulary entry decodes to, in UTF-16 units (for a cheap lower bound on tokens). */
  maxTokenChars(): number {
    const vocab = this.tokenizer.model?.vocab ?? [];
    let longest = 1;
    for (const token of vocab) if (token && token.length > longest) longest = token.length;
    return longest;
  }
}

/** `chat_template` is a string, or a list of named templates of which `default` is the chat one. */
function chatTemplateSource(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value as { name?: unknown; template?: unknown }[];
    const chosen = named.find((t) => t.name === 'default') ?? named[0];
    return typeof chosen?.template === 'string' ? chosen.template : null;
  }
  return null;
}

/** Context length from the usual config fields. */
export function contextLength(files: ChatModelFiles): number {
  for (const key of ['max_position_embeddings', 'n_positions', 'max_sequence_length', 'seq_length', 'n_ctx']) {
    const v = files.config[key];
    if (typeof v === 'number' && v > 0) return v;
  }
  const fromTokenizer = files.tokenizerConfig.model_max_length;
  return typeof fromTokenizer === 'number' && fromTokenizer > 0 && fromTokenizer < 1e7 ? fromTokenizer : 2048;
}
