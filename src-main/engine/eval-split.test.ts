import { describe, expect, it } from "vitest";
import type { TaskRow } from "../datasets/task-row.js";
import { splitHoldout } from "./eval-split.js";

const row = (i: number, prompt = `Q${i}: what is ${i} + ${i}?`): TaskRow => ({ id: `r${i}`, prompt, reward: { kind: "math", answer: String(2 * i) } }) as TaskRow;
const rows = Array.from({ length: 200 }, (_, i) => row(i));

describe("splitHoldout", () => {
  it("holds out the asked share, disjoint from the rest, each side in file order", () => {
    const { train, heldOut } = splitHoldout(rows, 10);
    expect(heldOut).toHaveLength(20);
    expect(train).toHaveLength(180);
    const held = new Set(heldOut.map((r) => r.id));
    expect(train.some((r) => held.has(r.id))).toBe(false);
    expect(new Set([...train, ...heldOut].map((r) => r.id)).size).toBe(200);
    const order = (list: TaskRow[]): number[] => list.map((r) => Number(r.id.slice(1)));
    expect(order(train)).toEqual([...order(train)].sort((a, b) => a - b));
    // Not simply the first or last rows of the file.
    expect(order(heldOut)).not.toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(order(heldOut)).not.toEqual(Array.from({ length: 20 }, (_, i) => 180 + i));
  });

  it("is deterministic and does not depend on the file's order", () => {
    const a = splitHoldout(rows, 25).heldOut.map((r) => r.id).sort();
    const b = splitHoldout([...rows].reverse(), 25).heldOut.map((r) => r.id).sort();
    expect(b).toEqual(a);
    // A larger share holds out a superset: growing the share never moves a row back into training.
    const more = new Set(splitHoldout(rows, 40).heldOut.map((r) => r.id));
    expect(a.every((id) => more.has(id))).toBe(true);
  });

  it("puts rows that repeat a prompt on one side, so a duplicate cannot leak into training", () => {
    const dup = [...rows, ...rows.map((r, i) => ({ ...r, id: `copy${i}` }))];
    const { train, heldOut } = splitHoldout(dup, 10);
    const trainPrompts = new Set(train.map((r) => r.prompt));
    expect(heldOut.length).toBeGreaterThan(0);
    expect(heldOut.some((r) => trainPrompts.has(r.prompt))).toBe(false);
  });

  it("keeps at least one row on each side, and refuses shares out of range or a single prompt", () => {
    const two = splitHoldout([row(1), row(2)], 50);
    expect([two.train.length, two.heldOut.length]).toEqual([1, 1]);
    expect(splitHoldout(rows.slice(0, 5), 1).heldOut).toHaveLength(1);
    expect(() => splitHoldout(rows, 0)).toThrow(/1–50 %, found 0/);
    expect(() => splitHoldout(rows, 75)).toThrow(/1–50 %, found 75/);
    expect(() => splitHoldout([row(1), row(2, "Q1: what is 1 + 1?")], 10)).toThrow(/1 distinct prompt: choose another evaluation set/);
  });
});
