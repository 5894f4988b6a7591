// Batch assembly for a context of many sequences. llama.cpp (with node-llama-cpp's per-sequence
// KV streams) splits a batch into micro-batches of sequences whose ids rise by one in batch
// order (`split_equal(…, sequential=true)`), each computed as its own pass over the weights.
// node-llama-cpp adds sequences in the order they asked for their next token, which after a few
// steps is shuffled, and starts a batch before every sequence has asked. Measured on the built-in
// model, 128 sequences × 32 tokens (scratch replay of split_equal): unsorted, 37 batches of ~122
// sequences in ~12–15 micro-batches each; sorted, 52 batches of ~73 in ~5.7; sorted and waiting
// for every generating sequence, 33 batches (one per step) of ~115 in ~8 (a sequence that has
// finished leaves a gap in the ids, and each gap starts a micro-batch). Order affects speed only:
// output-reorder-guard.ts keeps any order correct.
import type { BatchItem, CustomBatchingPrioritizationStrategy, EvaluationPriority, PrioritizedBatchItem } from "node-llama-cpp";

/**
 * The key a sequence's evaluations carry so that `sequenceOrderStrategy` can sort them: its
 * sequence id. node-llama-cpp passes `evaluationPriority` through to the strategy unchanged
 * (its type says 1–5, and only its own strategies read it).
 */
export function sequenceOrderKey(sequenceId: number): EvaluationPriority {
  return sequenceId as EvaluationPriority;
}

/** Empty rounds a batch may wait for sequences still queuing their next token (each a few microtasks). */
const MAX_WAIT_ROUNDS = 64;

/**
 * A strategy that puts items in ascending sequence order, each given an equal share of the
 * batch's `size` tokens and the rest handed out in that order (what node-llama-cpp's
 * "maximumParallelism" does, sorted). With `expected` (how many sequences are generating), a
 * batch holding fewer items waits a few empty rounds for the rest: node-llama-cpp starts the next
 * batch as soon as one sequence has queued its token, and a sequence left out waits a whole step
 * and splits the next one. The wait yields only to microtasks and is bounded, so a sequence
 * that is not coming (it stopped, or waits for the context's lock) costs a few microseconds.
 */
export function sequenceOrderStrategy(expected?: () => number): CustomBatchingPrioritizationStrategy {
  let rounds = 0;
  return ({ items, size }) => {
    if (expected && items.length < expected() && rounds < MAX_WAIT_ROUNDS) {
      rounds++;
      return [];
    }
    rounds = 0;
    const sorted = [...items].sort((a: BatchItem, b: BatchItem) => a.evaluationPriority - b.evaluationPriority);
    const share = Math.max(1, Math.floor(size / Math.max(1, sorted.length)));
    let left = size;
    const out: PrioritizedBatchItem[] = [];
    for (const item of sorted) {
      const n = Math.min(item.tokens.length, share, left);
      if (n <= 0) break;
      out.push({ item, processAmount: n });
      left -= n;
    }
    for (const p of out) {
      if (left <= 0) break;
      const more = Math.min(p.item.tokens.length - p.processAmount, left);
      p.processAmount += more;
      left -= more;
    }
    return out;
  };
}
