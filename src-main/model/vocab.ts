// Tokenizer vocabularies that llama.cpp loads, written as GGUF tokenizer metadata.
//  - "chars": SentencePiece-style ("llama" model): control tokens, 256 byte-fallback tokens,
//    then single characters (printable ASCII plus "▁" for space). Any other character falls
//    back to its UTF-8 bytes, so every string round-trips.
//  - "bytes": GPT-2 byte-level BPE ("gpt2" model, as Qwen2 and Llama 3 use) with the 256
//    byte symbols and no merges (one token per byte), or with generated merges up to a real
//    vocabulary's size; optionally ChatML's control tokens and chat template.
import { Keys, TokenType } from "../gguf/constants.js";
import { kv } from "../gguf/metadata.js";
import type { GgufKv } from "../gguf/types.js";

export type VocabKind = "chars" | "bytes";
export const VOCAB_KINDS: readonly VocabKind[] = ["chars", "bytes"];

/** A vocabulary and the ids llama.cpp needs. */
export interface Vocab {
  kind: VocabKind;
  tokens: string[];
  bos: number;
  eos: number;
  metadata: Map<string, GgufKv>;
}

/** SentencePiece's stand-in for a space. */
export const SPM_SPACE = "\u2581";

function charVocab(extraPieces: readonly string[]): Vocab {
  const tokens = ["<unk>", "<s>", "</s>"];
  const types: number[] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TokenType.BYTE);
  }
  const pieces = [SPM_SPACE];
  for (let c = 0x21; c < 0x7f; c++) pieces.push(String.fromCharCode(c));
  for (const p of extraPieces) if (!pieces.includes(p)) pieces.push(p);
  for (const p of pieces) {
    tokens.push(p);
    types.push(TokenType.NORMAL);
  }
  // SPM merges pieces by score: longer pieces score higher so they win over their parts.
  const scores = tokens.map((t, i) => (types[i] === TokenType.NORMAL ? [...t].length - i * 1e-6 : 0));
  const metadata = new Map<string, GgufKv>([
    [Keys.tokenizer.model, kv.str("llama")],
    [Keys.tokenizer.pre, kv.str("default")],
    [Keys.tokenizer.tokens, kv.strings(tokens)],
    [Keys.tokenizer.scores, kv.f32s(scores)],
    [Keys.tokenizer.tokenType, kv.i32s(types)],
    [Keys.tokenizer.bosTokenId, kv.u32(1)],
    [Keys.tokenizer.eosTokenId, kv.u32(2)],
    [Keys.tokenizer.unknownTokenId, kv.u32(0)],
    [Keys.tokenizer.addBosToken, kv.bool(true)],
    [Keys.tokenizer.addEosToken, kv.bool(false)],
    // No implicit leading space: prompts are fed exactly as written.
    [Keys.tokenizer.addSpacePrefix, kv.bool(false)],
  ]);
  return { kind: "chars", tokens, bos: 1, eos: 2, metadata };
}

/** GPT-2's reversible byte → printable-character map (bytes_to_unicode). */
export function gpt2ByteToChar(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    map[b] = printable.includes(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + n++);
  }
  return map;
}

/** ChatML, the template Qwen2.5's instruct models carry (their own adds a default system turn). */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Options of the byte-level vocabulary. */
export interface ByteVocabOptions {
  /** Total tokens, specials included: merges are generated to fill it (real vocabularies are 49k–152k). */
  size?: number;
  /** Add ChatML's control tokens and template; end of turn (<|im_end|>) becomes the end token. */
  chat?: boolean;
}

/**
 * `count` BPE merges over byte symbols: first every pair of the printable ASCII symbols (space as
 * "Ġ"), then those pairs extended by one symbol, in order. Each merge's parts are tokens already,
 * so llama.cpp's BPE accepts the list; the merged strings become the new tokens.
 */
export function generatedMerges(count: number): string[] {
  const byteChar = gpt2ByteToChar();
  const symbols = [0x20, ...Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => 0x21 + i)].map((b) => byteChar[b]!);
  const merges: string[] = [];
  for (const a of symbols) for (const b of symbols) {
    if (merges.length === count) return merges;
    merges.push(`${a} ${b}`);
  }
  for (let i = 0; merges.length < count; i++) {
    const pair = merges[i]!.replace(" ", "");
    for (const c of symbols) {
      if (merges.length === count) break;
      merges.push(`${pair} ${c}`);
    }
    if (i >= symbols.length ** 2) throw new Error(`cannot generate ${count} merges`);
  }
  return merges;
}

function byteVocab(pre: string, options: ByteVocabOptions): Vocab {
  const tokens = gpt2ByteToChar();
  const specials = ["<|endoftext|>", ...(options.chat ? ["<|im_start|>", "<|im_end|>"] : [])];
  const size = options.size ?? tokens.length + specials.length;
  if (!Number.isInteger(size) || size < tokens.length + specials.length) throw new Error(`vocabulary size must be an integer ≥ ${tokens.length + specials.length}, found ${size}`);
  const merges = generatedMerges(size - tokens.length - specials.length);
  // A loop, not push(...): spreading 150k arguments overflows the stack.
  for (const m of merges) tokens.push(m.replace(" ", ""));
  const types: number[] = tokens.map(() => TokenType.NORMAL);
  const first = tokens.length;
  for (const special of specials) {
    tokens.push(special);
    types.push(TokenType.CONTROL);
  }
  const endOfText = first;
  const eos = options.chat ? first + 2 : endOfText;
  const metadata = new Map<string, GgufKv>([
    [Keys.tokenizer.model, kv.str("gpt2")],
    [Keys.tokenizer.pre, kv.str(pre)],
    [Keys.tokenizer.tokens, kv.strings(tokens)],
    [Keys.tokenizer.tokenType, kv.i32s(types)],
    [Keys.tokenizer.merges, kv.strings(merges)],
    [Keys.tokenizer.bosTokenId, kv.u32(endOfText)],
    [Keys.tokenizer.eosTokenId, kv.u32(eos)],
    [Keys.tokenizer.paddingTokenId, kv.u32(endOfText)],
    [Keys.tokenizer.addBosToken, kv.bool(false)],
    ...(options.chat ? [[Keys.tokenizer.chatTemplate, kv.str(CHATML_TEMPLATE)] as [string, GgufKv]] : []),
  ]);
  return { kind: "bytes", tokens, bos: endOfText, eos, metadata };
}

/** Build a vocabulary; `pre` picks llama.cpp's pre-tokenizer for byte-level BPE. */
export function makeVocab(kind: VocabKind, options: { pre?: string; extraPieces?: readonly string[] } & ByteVocabOptions = {}): Vocab {
  if (kind === "chars" && (options.size !== undefined || options.chat)) throw new Error(`a vocabulary size and a chat template need the "bytes" vocabulary`);
  return kind === "chars" ? charVocab(options.extraPieces ?? []) : byteVocab(options.pre ?? "default", options);
}
