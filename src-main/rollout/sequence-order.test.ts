import { describe, expect, it } from "vitest";
import type { BatchItem, Token } from "node-llama-cpp";
import { sequenceOrderKey, sequenceOrderStrategy } from "./sequence-order.js";

const item = (sequence: number, tokens: number): BatchItem => ({ tokens: new Array<Token>(tokens).fill(1 as Token), logits: [], evaluationPriority: sequenceOrderKey(sequence) });
const order = (out: { item: BatchItem; processAmount: number }[]): number[][] => out.map((p) => [p.item.evaluationPriority, p.processAmount]);

describe("sequenceOrderStrategy", () => {
  it("puts items in ascending sequence order and keeps the items' own objects", () => {
    const items = [item(5, 1), item(0, 1), item(3, 1)];
    const out = sequenceOrderStrategy()({ items, size: 512 });
    expect(order(out)).toEqual([[0, 1], [3, 1], [5, 1]]);
    expect(out.every((p) => items.includes(p.item))).toBe(true);
  });

  it("gives each item an equal share of the batch, then the rest in sequence order", () => {
    // 10 tokens for 3 items: a share of 3 (the second has only 2), the 2 left to the first.
    expect(order(sequenceOrderStrategy()({ items: [item(2, 20), item(1, 2), item(0, 20)], size: 10 }))).toEqual([[0, 5], [1, 2], [2, 3]]);
    // More items than slots: one token each until the batch is full.
    expect(order(sequenceOrderStrategy()({ items: [item(2, 5), item(1, 5), item(0, 5)], size: 2 }))).toEqual([[0, 1], [1, 1]]);
  });

  it("waits a bounded number of empty rounds for generating sequences, then takes what is there", () => {
    let generating = 3;
    const strategy = sequenceOrderStrategy(() => generating);
    const two = [item(1, 1), item(0, 1)];
    const rounds = [];
    for (let r = 0; r < 100; r++) {
      const out = strategy({ items: two, size: 512 });
      rounds.push(out.length);
      if (out.length > 0) break;
    }
    expect(rounds.length).toBe(65);
    expect(rounds.at(-1)).toBe(2);
    // All there: no wait. One stopped: two are enough.
    expect(strategy({ items: [...two, item(2, 1)], size: 512 })).toHaveLength(3);
    generating = 2;
    expect(strategy({ items: two, size: 512 })).toHaveLength(2);
  });
});
