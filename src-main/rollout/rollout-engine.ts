// The rollout engine: the only module that imports node-llama-cpp. It loads one GGUF model,
// generates G completions for each of B prompts concurrently and hot-swaps LoRA adapters
// between batches.
//
// Concurrency comes two ways (`decoding`): a pool of one-sequence contexts, each decoding on its
// own libuv thread, or one context whose sequences decode together, one batch per step. Several
// sequences in ONE context read each other's logits unless output-reorder-guard.ts is installed
// (the cause is written there); rollout-engine.test.ts compares both ways and re-scores sampled
// tokens in isolation, failing on any mismatch.
import { rolloutThreadsFor } from "../util/threads.js";
import { getLlama, resolveChatWrapper, type ChatWrapper, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaEmbeddingContext, type LlamaModel, type Token } from "node-llama-cpp";
import type { GgufFile } from "../gguf/reader.js";
import { vetAdapterFile, vetModelFile } from "../model/vet-model-file.js";
import { loadedAdapterCount, releaseAdapter } from "./adapter-release.js";
import { guardOutputReorder } from "./output-reorder-guard.js";
import { sequenceOrderKey, sequenceOrderStrategy } from "./sequence-order.js";
import { DECODINGS, DEFAULT_DECODING, type Decoding, type PromptFormat } from "./prompt-format.js";
import { completionSeed, resolveSampling, type Sampling, type SamplingInput } from "./sampling.js";
import { Rng } from "../util/rng.js";

/** Why a completion ended. */
export type FinishReason = "eos" | "stop" | "length";

/** One sampled completion. */
export interface Completion {
  prompt: number;
  sample: number;
  /** Completion text; cut before a matched stop string, without the end-of-generation token. */
  text: string;
  promptTokens: number[];
  /** Prompt tokens llama.cpp evaluated for this completion: the rest were reused from its context's cache. */
  evaluatedPromptTokens: number;
  /**
   * All tokens llama.cpp evaluated for this completion: its uncached prompt tokens and its own
   * tokens; in a tree (`tree` sampling), only the prompt and the branches this sample reached first.
   */
  evaluatedTokens: number;
  /** Sampled token ids, including an end-of-generation token or the token that completed a stop string. */
  tokens: number[];
  /** log p(token) under the sampling distribution, when requested. */
  logprobs?: number[];
  finishReason: FinishReason;
  /** Milliseconds from the job's start to its first token, and to its end. */
  timings: { firstTokenMs: number; totalMs: number };
}

/** The result of one batch: completions[prompt][sample]. */
export interface RolloutBatch {
  completions: Completion[][];
  generatedTokens: number;
  wallMs: number;
  tokensPerSecond: number;
}

/** How the engine runs. */
export interface RolloutEngineOptions {
  modelPath: string;
  /** Threads per context; default: the cores shared among the `parallel` contexts (1 on 2 cores, measured fastest there: bench/results/rollout-*.json). */
  threads?: number;
  /** Sequences decoding at once: contexts in the pool, or sequences of the batched context. */
  parallel?: number;
  /**
   * "pool" (default): `parallel` one-sequence contexts, each decoding one token per step on its
   * own thread. "batched": one context holding `parallel` sequences, decoded together as one
   * llama.cpp batch per step (one pass over the weights for all of them).
   */
  decoding?: Decoding;
  /** LoRA adapter applied from the start. */
  adapter?: { path: string; scale?: number } | null;
  /**
   * llama.cpp's flash attention for rollout contexts. Default: off on the CPU, node-llama-cpp's
   * "auto" on a GPU. On the CPU its kernel is slow for batches under 64 tokens (time growing with
   * tokens × depth, dropping tenfold at 64): on the built-in model a token decoded 300 positions deep
   * cost 2.8 ms with it against 0.75 without, 48 prompt tokens there 66 ms against 6.5 (2-core VM,
   * scratch timing); on a 25 M-parameter model neither won (each within a quarter of the other).
   */
  flashAttention?: boolean;
  /** Passed to llama.cpp's logger. */
  logLevel?: "error" | "warn" | "info" | "debug";
  /**
   * How prompts reach the model: "chat" renders each as one user turn through the model's own
   * chat template (as node-llama-cpp renders it), "raw" feeds the text as is, "auto" (default)
   * is "chat" when the GGUF carries `tokenizer.chat_template`.
   */
  promptFormat?: PromptFormat;
}

export type { Decoding } from "./prompt-format.js";

/** Context settings under which llama.cpp's attention is computed in float32 throughout. */
const EXACT_ATTENTION = { flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" } as const;
export const DEFAULT_PARALLEL = 8;

interface PoolSlot {
  context: LlamaContext;
  sequence: LlamaContextSequence;
  /** In a batched context, the sequence's id there (sequences are taken in id order); null in the pool. */
  sequenceId: number | null;
}

let sharedLlama: Promise<Llama> | null = null;
/** One llama.cpp backend per process; CPU unless a GPU build is found at run time. */
function llamaBackend(logLevel: RolloutEngineOptions["logLevel"]): Promise<Llama> {
  sharedLlama ??= getLlama({ gpu: "auto", build: "never", logLevel: (logLevel ?? "error") as never, progressLogs: false, skipDownload: true } as never);
  return sharedLlama;
}

/**
 * Release this thread's llama.cpp backend (engines must be disposed first). A run thread calls it
 * before it exits, so the backend's native state goes with the thread.
 */
export async function disposeLlamaBackend(): Promise<void> {
  const llama = sharedLlama;
  sharedLlama = null;
  if (llama) await (await llama.catch(() => null))?.dispose();
}

/** How many leading tokens of `prompt` the sequence's first `held` context tokens already are. */
export function sharedPrefixLength(context: readonly number[], held: number, prompt: readonly number[]): number {
  const n = Math.min(held, context.length, prompt.length);
  let i = 0;
  while (i < n && context[i] === prompt[i]) i++;
  return i;
}

/**
 * Jobs of a batch: each a chain of parts (a prompt with some of its samples) that one context runs
 * in turn. A part joins the chain before it when its prompt shares at least half of itself with
 * that chain's last prompt (METIS's candidates of one cell show the same examples and come one
 * after another), as long as enough chains remain to keep `parallel` contexts busy; a context
 * then evaluates the shared start once instead of each context evaluating it again.
 */
export function chainSharedPrefixes<P extends { prompt: number }>(parts: readonly P[], promptTokens: readonly (readonly number[])[], parallel: number): P[][] {
  const chains: P[][] = [];
  parts.forEach((part, i) => {
    const prev = chains.at(-1);
    const last = prev?.at(-1);
    const tokens = promptTokens[part.prompt]!;
    const before = last ? promptTokens[last.prompt]! : [];
    const shared = sharedPrefixLength(before, before.length, tokens);
    const chainsIfJoined = chains.length + (parts.length - i - 1);
    if (prev && last!.prompt !== part.prompt && 2 * shared >= tokens.length && chainsIfJoined >= parallel) prev.push(part);
    else chains.push([part]);
  });
  return chains;
}

/** Generates completions from a GGUF model through llama.cpp. */
export class RolloutEngine {
  private pool: PoolSlot[] = [];
  private embedding: LlamaEmbeddingContext | null = null;
  private embeddingContextSize = 0;
  private poolContextSize = 0;
  private adapter: { path: string; scale: number } | null;
  private busy: Promise<unknown> = Promise.resolve();
  /** Sequences between their first and last token: each queues its next token right after a step (batched decoding waits for them). */
  private generating = 0;
  private disposed = false;

  private constructor(
    private model: LlamaModel,
    /** The model's vetted header: adapters are checked against it before llama.cpp sees them. */
    private readonly modelFile: GgufFile,
    private readonly llama: Llama,
    private readonly options: Required<Omit<RolloutEngineOptions, "adapter" | "logLevel" | "promptFormat" | "flashAttention">> & { flashAttention: boolean | null },
    adapter: RolloutEngineOptions["adapter"],
    /** The model's chat template, when prompts go through it; null for raw prompts. */
    private readonly chatWrapper: ChatWrapper | null,
  ) {
    this.adapter = adapter ? { path: adapter.path, scale: adapter.scale ?? 1 } : null;
  }

  /** Load a model (vetted first: shapes, sizes, finite weights). Errors name the file. */
  static async load(options: RolloutEngineOptions): Promise<RolloutEngine> {
    // llama.cpp trusts a file's shapes and values: a bad file must be refused before it sees it.
    const modelFile = vetModelFile(options.modelPath);
    if (options.adapter) vetAdapterFile(options.adapter.path, modelFile);
    const llama = await llamaBackend(options.logLevel);
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath: options.modelPath, gpuLayers: llama.gpu ? "auto" : 0 });
    } catch (e) {
      throw new Error(`${options.modelPath}: llama.cpp could not load the model: ${(e as Error).message}`, { cause: e });
    }
    const parallel = options.parallel ?? DEFAULT_PARALLEL;
    const resolved = {
      modelPath: options.modelPath, threads: options.threads ?? rolloutThreadsFor(parallel), parallel, decoding: options.decoding ?? DEFAULT_DECODING,
      // null leaves node-llama-cpp's own choice.
      flashAttention: options.flashAttention ?? (llama.gpu === false ? false : null),
    };
    if (!Number.isInteger(resolved.threads) || resolved.threads < 1) throw new Error(`threads must be a positive integer, found ${resolved.threads}`);
    if (!Number.isInteger(resolved.parallel) || resolved.parallel < 1) throw new Error(`parallel must be a positive integer, found ${resolved.parallel}`);
    if (!(DECODINGS as readonly string[]).includes(resolved.decoding)) throw new Error(`decoding must be ${DECODINGS.map((d) => `"${d}"`).join(" or ")}, found ${String(resolved.decoding)}`);
    const template = model.fileInfo.metadata.tokenizer?.chat_template;
    const format = options.promptFormat ?? "auto";
    if (format === "chat" && typeof template !== "string") {
      await model.dispose();
      throw new Error(`${options.modelPath}: the model has no chat template (tokenizer.chat_template); use the raw prompt format`);
    }
    const chatWrapper = format === "raw" || typeof template !== "string" ? null : resolveChatWrapper(model);
    return new RolloutEngine(model, modelFile, llama, resolved, options.adapter, chatWrapper);
  }

  /** Token ids of `text` as the model sees it at the start of a sequence (BOS prepended when the vocabulary asks for it). */
  tokenize(text: string): number[] {
    const tokens = this.model.tokenize(text) as number[];
    const bos = this.model.tokens.bos;
    return this.model.tokens.shouldPrependBosToken && bos !== null ? [bos, ...tokens] : tokens;
  }

  /** The flash-attention setting of the rollout contexts ("auto": llama.cpp decides); null until the first is made. */
  get flashAttention(): boolean | "auto" | null {
    return this.pool[0]?.context.flashAttention ?? null;
  }

  /** True when prompts are rendered through the model's chat template. */
  get usesChatTemplate(): boolean {
    return this.chatWrapper !== null;
  }

  /**
   * The tokens a prompt is sampled from: the chat template's rendering of one user turn and the
   * opening of the assistant's, or the raw text. Training uses these same ids.
   */
  promptTokens(prompt: string): number[] {
    if (!this.chatWrapper) return this.tokenize(prompt);
    const state = this.chatWrapper.generateContextState({ chatHistory: [{ type: "user", text: prompt }, { type: "model", response: [] }] });
    const tokens = state.contextText.tokenize(this.model.tokenizer) as number[];
    // node-llama-cpp's wrappers open with BOS; a vocabulary that says not to add it (Qwen's) does not get it.
    const bos = this.model.tokens.bos;
    return !this.model.tokens.shouldPrependBosToken && bos !== null && tokens[0] === bos ? tokens.slice(1) : tokens;
  }

  /** Text of `tokens` with special tokens written out (a rendered chat prompt reads as the template made it). */
  detokenizeWithSpecials(tokens: readonly number[]): string {
    return this.model.detokenize(tokens as Token[], true);
  }

  /** Text of `tokens`, without special tokens. */
  detokenize(tokens: readonly number[]): string {
    return this.model.detokenize(tokens as Token[]);
  }

  /** Tokens the model's context window holds. */
  get trainContextSize(): number {
    return this.model.trainContextSize;
  }

  /** How concurrent sequences are decoded. */
  get decoding(): Decoding {
    return this.options.decoding;
  }

  /** The adapter in use, if any. */
  get adapterPath(): string | null {
    return this.adapter?.path ?? null;
  }

  /** Adapters llama.cpp holds in memory for this model (diagnostics: stays ≤ 1 across swaps); -1 when unknown. */
  get loadedAdapters(): number {
    return loadedAdapterCount(this.model);
  }

  /** Generate `group` completions for each prompt. Calls are serialized; an adapter swap waits for them. */
  generate(prompts: readonly string[], group: number, samplingInput: SamplingInput = {}): Promise<RolloutBatch> {
    return this.exclusive(() => this.generateNow(prompts, group, resolveSampling(samplingInput)));
  }

  /**
   * Replace the LoRA adapter (or remove it with null). Each version must have its own file:
   * the library caches adapters by path. The previous adapter is freed. Returns the swap time.
   * A bad adapter file is refused before anything changes: the current adapter stays in use.
   */
  setAdapter(path: string | null, scale = 1): Promise<{ ms: number }> {
    return this.exclusive(async () => {
      const t0 = performance.now();
      if (path !== null) vetAdapterFile(path, this.modelFile);
      const previous = this.adapter;
      await this.disposePool();
      this.adapter = path === null ? null : { path, scale };
      // The same path again may hold new weights: drop the cached copy so the file is read anew.
      if (previous && !(await releaseAdapter(this.model, previous.path))) {
        // This library version offers no way to free one adapter: reload the model instead.
        const modelPath = this.options.modelPath;
        await this.model.dispose();
        this.model = await this.llama.loadModel({ modelPath, gpuLayers: this.llama.gpu ? "auto" : 0 });
      }
      return { ms: performance.now() - t0 };
    });
  }

  /**
   * log p(completion[i] | prompt, completion[<i]) under the given sampler settings, computed on a
   * fresh single-sequence context: the reference the concurrent path is checked against.
   */
  score(promptTokens: readonly number[], completionTokens: readonly number[], samplingInput: SamplingInput = {}): Promise<number[]> {
    const s = resolveSampling(samplingInput);
    return this.exclusive(async () => {
      const context = await this.createContext(contextSizeFor(promptTokens.length + completionTokens.length, this.model.trainContextSize));
      try {
        const seq = context.getSequence();
        const all = [...promptTokens, ...completionTokens];
        const input = all.map((t, i) =>
          i >= promptTokens.length - 1 && i < all.length - 1
            ? ([t, { generateNext: { probabilities: true, options: samplerOptions(s, 0) } }] as const)
            : t,
        );
        const out = await seq.controlledEvaluate(input as never);
        return completionTokens.map((tok, k) => {
          const probs = out[promptTokens.length - 1 + k]?.next?.probabilities;
          const p = probs?.get(tok as Token) ?? 0;
          return Math.log(p);
        });
      } finally {
        await context.dispose();
      }
    });
  }

  /**
   * log p(next token) over the whole vocabulary after `tokens`, from a fresh single-sequence
   * context: the reference the training graph is checked against. "exact" keeps keys and values
   * in float32 and turns flash attention off (on CPU it rounds K and V to F16 whatever the cache
   * type: measured 3e-4 in log-prob); "rollout" uses the settings generation runs with.
   * Tokens absent from llama.cpp's output (probability 0) get −Infinity.
   */
  nextTokenLogProbs(tokens: readonly number[], vocabSize: number, precision: "exact" | "rollout" = "exact"): Promise<Float64Array> {
    return this.exclusive(async () => {
      const context = await this.createContext(contextSizeFor(tokens.length + 1, this.model.trainContextSize), precision === "exact" ? EXACT_ATTENTION : null);
      try {
        const probs = await nextTokenProbabilities(context.getSequence(), tokens, resolveSampling({}));
        const logp = new Float64Array(vocabSize).fill(-Infinity);
        for (const [tok, p] of probs) if ((tok as number) < vocabSize) logp[tok as number] = Math.log(p);
        return logp;
      } finally {
        await context.dispose();
      }
    });
  }

  /**
   * The base model's embedding of each text (llama.cpp's pooled hidden state, no adapter): the
   * features a learned value head reads (the PCL curriculum). One embedding context is kept.
   */
  embed(texts: readonly string[]): Promise<number[][]> {
    return this.exclusive(async () => {
      const longest = Math.max(1, ...texts.map((t) => this.tokenize(t).length));
      if (!this.embedding || this.embeddingContextSize < longest + 1) {
        await this.embedding?.dispose();
        this.embeddingContextSize = contextSizeFor(longest + 1, this.model.trainContextSize);
        this.embedding = await this.model.createEmbeddingContext({ contextSize: this.embeddingContextSize, threads: this.options.threads });
      }
      const out: number[][] = [];
      for (const text of texts) out.push([...(await this.embedding.getEmbeddingFor(text)).vector]);
      return out;
    });
  }

  /** Free every native resource. Safe to call more than once. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.busy.catch(() => undefined);
    await this.disposePool();
    await this.embedding?.dispose();
    await this.model.dispose();
  }

  private exclusive<T>(job: () => Promise<T>): Promise<T> {
    if (this.disposed) return Promise.reject(new Error("the rollout engine was disposed"));
    const next = this.busy.then(job, job);
    this.busy = next.catch(() => undefined);
    return next;
  }

  /** A context of `sequences` sequences of `contextSize` tokens each. */
  private async createContext(contextSize: number, attention: typeof EXACT_ATTENTION | null = null, sequences = 1): Promise<LlamaContext> {
    return this.model.createContext({
      contextSize,
      ...(this.options.flashAttention === null ? {} : { flashAttention: this.options.flashAttention }),
      ...(attention ?? {}),
      sequences,
      threads: this.options.threads,
      // node-llama-cpp raises the batch to at least one token per sequence.
      batchSize: Math.min(contextSize * sequences, 512),
      ...(sequences > 1 ? { batching: { itemPrioritizationStrategy: sequenceOrderStrategy(() => this.generating) } } : {}),
      ...(this.adapter ? { lora: { adapters: [{ filePath: this.adapter.path, scale: this.adapter.scale }] } } : {}),
    });
  }

  private async disposePool(): Promise<void> {
    const slots = this.pool;
    this.pool = [];
    this.poolContextSize = 0;
    // Batched slots share one context.
    await Promise.all([...new Set(slots.map((s) => s.context))].map((c) => c.dispose()));
  }

  /** At least `size` slots of at least `contextSize` tokens each. */
  private async ensurePool(size: number, contextSize: number): Promise<void> {
    if (contextSize > this.poolContextSize) await this.disposePool();
    if (this.options.decoding === "batched") {
      if (this.pool.length >= size) return;
      // One context holds every sequence; a larger batch needs a new one.
      await this.disposePool();
      const context = await this.createContext(contextSize, null, size);
      if (!guardOutputReorder(context)) {
        await context.dispose();
        throw new Error(`this node-llama-cpp version cannot be guarded against its output-reorder race: use decoding "pool"`);
      }
      // A fresh context hands out sequence ids 0, 1, … in order.
      this.pool = Array.from({ length: size }, (_, sequenceId) => ({ context, sequence: context.getSequence(), sequenceId }));
      this.poolContextSize = contextSize;
      return;
    }
    while (this.pool.length < size) {
      const context = await this.createContext(contextSize);
      this.pool.push({ context, sequence: context.getSequence(), sequenceId: null });
    }
    this.poolContextSize = Math.max(this.poolContextSize, contextSize);
  }

  private async generateNow(prompts: readonly string[], group: number, s: Sampling): Promise<RolloutBatch> {
    if (!Number.isInteger(group) || group < 1) throw new Error(`group size must be a positive integer, found ${group}`);
    const t0 = performance.now();
    const promptTokens = prompts.map((p) => this.promptTokens(p));
    const longest = Math.max(0, ...promptTokens.map((t) => t.length));
    const limit = this.model.trainContextSize;
    if (longest + s.maxTokens > limit) {
      throw new Error(`a prompt of ${longest} tokens plus maxTokens ${s.maxTokens} exceeds the model's context of ${limit} tokens`);
    }
    // A job is a prompt with some of its samples: the prompt is evaluated once per job and each
    // further sample continues from its cached prefix. Prompts are split into enough jobs to keep
    // every context busy.
    const parts: { prompt: number; samples: number[] }[] = [];
    const perPrompt = Math.max(1, Math.ceil(group / Math.max(1, Math.floor(this.options.parallel / prompts.length))));
    for (let p = 0; p < prompts.length; p++) {
      for (let g = 0; g < group; g += perPrompt) parts.push({ prompt: p, samples: Array.from({ length: Math.min(perPrompt, group - g) }, (_, k) => g + k) });
    }
    const jobs = chainSharedPrefixes(parts, promptTokens, this.options.parallel);
    await this.ensurePool(Math.min(this.options.parallel, jobs.length), contextSizeFor(longest + s.maxTokens, limit));

    const completions: Completion[][] = prompts.map(() => new Array<Completion>(group));
    let nextJob = 0;
    const worker = async (slot: PoolSlot): Promise<void> => {
      while (nextJob < jobs.length) {
        for (const part of jobs[nextJob++]!) {
          if (s.tree && slot.sequenceId === null) {
            for (const c of await this.runTreeJob(slot, promptTokens[part.prompt]!, part.prompt, part.samples, s)) completions[part.prompt]![c.sample] = c;
            continue;
          }
          for (const sample of part.samples) {
            completions[part.prompt]![sample] = await this.runJob(slot, promptTokens[part.prompt]!, { prompt: part.prompt, sample }, s);
          }
        }
      }
    };
    await Promise.all(this.pool.slice(0, Math.min(this.pool.length, jobs.length)).map(worker));
    const wallMs = performance.now() - t0;
    const generatedTokens = completions.flat().reduce((n, c) => n + c.tokens.length, 0);
    return { completions, generatedTokens, wallMs, tokensPerSecond: generatedTokens / (wallMs / 1000) };
  }

  private async runJob(slot: PoolSlot, promptTokens: number[], job: { prompt: number; sample: number }, s: Sampling): Promise<Completion> {
    const t0 = performance.now();
    const input = await this.keepSharedPrefix(slot.sequence, promptTokens);
    const path: SamplePath = { tokens: [], logprobs: [], finishReason: "length", firstTokenMs: 0 };
    await this.decode(slot, input, path, completionSeed(s.seed, job.prompt, job.sample), s, t0);
    return this.completion(job, promptTokens, path, input.length, input.length + path.tokens.length, s, performance.now() - t0);
  }

  /**
   * Keep what the sequence already holds of this prompt (the same prompt's previous sample, or a
   * shared prefix such as METIS's instructions and examples); returns the rest, to be evaluated.
   * At least the last prompt token is fed again to get the first next-token distribution.
   */
  private async keepSharedPrefix(seq: LlamaContextSequence, promptTokens: readonly number[]): Promise<number[]> {
    const keep = Math.min(sharedPrefixLength(seq.contextTokens, seq.nextTokenIndex, promptTokens), promptTokens.length - 1);
    if (keep > 0) await seq.eraseContextTokenRanges([{ start: keep, end: seq.nextTokenIndex }]);
    else await seq.clearHistory();
    return promptTokens.slice(Math.max(keep, 0));
  }

  /** Why a path must end after its last token, or null while it may go on. */
  private finished(tokens: readonly number[], s: Sampling): FinishReason | null {
    if (this.model.isEogToken(tokens.at(-1) as Token)) return "eos";
    // Only the tail can newly contain a stop string; a byte token may be a quarter of a character.
    const maxStop = Math.max(0, ...s.stop.map((x) => x.length));
    if (maxStop > 0 && s.stop.some((stop) => this.detokenize(tokens.slice(-(4 * maxStop + 4))).includes(stop))) return "stop";
    return tokens.length >= s.maxTokens ? "length" : null;
  }

  /** Evaluate `input` and sample on llama.cpp's own loop until the path ends, appending to it. */
  private async decode(slot: PoolSlot, input: readonly number[], path: SamplePath, seed: number, s: Sampling, t0: number): Promise<void> {
    const options = {
      ...samplerOptions(s, seed),
      yieldEogToken: true,
      ...(slot.sequenceId === null ? {} : { evaluationPriority: sequenceOrderKey(slot.sequenceId) }),
    };
    const iterator = slot.sequence.evaluateWithMetadata(input as Token[], { confidence: s.logprobs }, options);
    let started = false;
    try {
      for await (const out of iterator) {
        if (!started) {
          started = true;
          if (path.tokens.length === 0) path.firstTokenMs = performance.now() - t0;
          this.generating++;
        }
        path.tokens.push(out.token as number);
        path.logprobs.push(Math.log((out as { confidence?: number }).confidence ?? 0));
        const ended = this.finished(path.tokens, s);
        if (ended) {
          path.finishReason = ended;
          break;
        }
      }
    } finally {
      if (started) this.generating--;
      await iterator.return();
    }
  }

  /** The completion a finished path is. */
  private completion(job: { prompt: number; sample: number }, promptTokens: number[], path: SamplePath, evaluatedPromptTokens: number, evaluatedTokens: number, s: Sampling, totalMs: number): Completion {
    const textTokens = path.finishReason === "eos" ? path.tokens.slice(0, -1) : path.tokens;
    let text = this.detokenize(textTokens);
    if (path.finishReason === "stop") text = text.slice(0, Math.min(...s.stop.map((x) => text.indexOf(x)).filter((i) => i >= 0)));
    return {
      prompt: job.prompt,
      sample: job.sample,
      text,
      promptTokens,
      evaluatedPromptTokens,
      evaluatedTokens,
      tokens: path.tokens,
      ...(s.logprobs ? { logprobs: path.logprobs } : {}),
      finishReason: path.finishReason,
      timings: { firstTokenMs: path.firstTokenMs, totalMs },
    };
  }

  /**
   * The samples of one prompt as a tree on one sequence: the prompt and then each prefix shared
   * by several samples is evaluated once, with the sampler's whole next-token distribution, and
   * every sample reaching it draws its next token there with its own seeded stream (the same
   * distribution, so the samples are as independent as usual). A prefix reached by one sample
   * goes on on llama.cpp's own sampling loop. Siblings are evaluated after erasing a branch back
   * to their common prefix.
   */
  private async runTreeJob(slot: PoolSlot, promptTokens: number[], prompt: number, samples: readonly number[], s: Sampling): Promise<Completion[]> {
    const seq = slot.sequence;
    const t0 = performance.now();
    const input = await this.keepSharedPrefix(seq, promptTokens);
    const next = (tokens: readonly number[]): Promise<Map<Token, number>> => nextTokenProbabilities(seq, tokens, s);
    const paths = samples.map((sample) => ({
      sample,
      rng: new Rng(completionSeed(s.seed, prompt, sample)),
      path: { tokens: [], logprobs: [], finishReason: "length", firstTokenMs: 0 } as SamplePath,
      evaluated: 0,
      totalMs: 0,
    }));
    type Branch = (typeof paths)[number];
    paths[0]!.evaluated += input.length;
    const root = await next(input);
    const firstTokenMs = performance.now() - t0;
    const grow = async (dist: Map<Token, number>, members: Branch[]): Promise<void> => {
      const branches = new Map<number, Branch[]>();
      for (const b of members) {
        const token = drawToken(dist, s.temperature === 0 ? null : b.rng.uniform());
        b.path.tokens.push(token);
        b.path.logprobs.push(Math.log(dist.get(token as Token) ?? 0));
        const branch = branches.get(token);
        if (branch) branch.push(b);
        else branches.set(token, [b]);
      }
      for (const [token, group] of branches) {
        const first = group[0]!;
        const ended = this.finished(first.path.tokens, s);
        if (!ended) {
          // The sequence must hold the prompt and this branch's tokens before `token`, nothing more.
          const at = promptTokens.length + first.path.tokens.length - 1;
          if (seq.nextTokenIndex > at) await seq.eraseContextTokenRanges([{ start: at, end: seq.nextTokenIndex }]);
          if (group.length > 1) {
            first.evaluated += 1;
            await grow(await next([token]), group);
            continue;
          }
          const before = first.path.tokens.length;
          await this.decode(slot, [token], first.path, first.rng.nextU32(), s, t0);
          first.evaluated += first.path.tokens.length - before + 1;
        }
        for (const b of group) {
          if (ended) b.path.finishReason = ended;
          b.totalMs = performance.now() - t0;
        }
      }
    };
    await grow(root, paths);
    return paths.map((b) => this.completion({ prompt, sample: b.sample }, promptTokens, { ...b.path, firstTokenMs }, b === paths[0] ? input.length : 0, b.evaluated, s, b.totalMs));
  }
}

/** A completion as it is sampled. */
interface SamplePath {
  tokens: number[];
  logprobs: number[];
  finishReason: FinishReason;
  firstTokenMs: number;
}

/** A token drawn from `dist` with the uniform number `u`; the most likely one when `u` is null (greedy). */
export function drawToken(dist: ReadonlyMap<Token, number>, u: number | null): number {
  let best: number | null = null;
  let bestP = -1;
  let total = 0;
  for (const [token, p] of dist) {
    total += p;
    if (p > bestP) [best, bestP] = [token as number, p];
  }
  if (u === null) return best!;
  let acc = 0;
  const target = u * total;
  for (const [token, p] of dist) {
    acc += p;
    if (target < acc) return token as number;
  }
  return best!;
}

/** Evaluate `tokens` on `seq` and return the sampler's whole distribution of the token after them. */
async function nextTokenProbabilities(seq: LlamaContextSequence, tokens: readonly number[], s: Sampling): Promise<Map<Token, number>> {
  const input = tokens.map((t, i) => (i === tokens.length - 1 ? ([t, { generateNext: { probabilities: true, options: samplerOptions(s, 0) } }] as const) : t));
  const out = await seq.controlledEvaluate(input as never);
  const probs = out[tokens.length - 1]?.next?.probabilities;
  if (!probs || probs.size === 0) throw new Error("llama.cpp returned no next-token probabilities");
  return probs;
}

function samplerOptions(s: Sampling, seed: number): { temperature: number; topK: number; topP: number; minP: number; seed: number } {
  return { temperature: s.temperature, topK: s.topK, topP: s.topP, minP: s.minP, seed };
}

/** Context sizes are powers of two from 256 (capped by the model's), so a pool is rebuilt only when prompts grow a lot. */
function contextSizeFor(tokens: number, limit: number): number {
  let size = 256;
  while (size < tokens) size *= 2;
  return Math.max(tokens, Math.min(size, limit));
}
