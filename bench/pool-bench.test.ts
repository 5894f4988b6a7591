import { describe, expect, it } from "vitest";
import type { TaskRow } from "../src-main/datasets/task-row.js";
import { Rng } from "../src-main/util/rng.js";
import { signalPoorPool, splitBySignal } from "./pool-bench.js";

const row = (id: string): TaskRow => ({ id, prompt: `${id}?`, reference: "x", reward: { kind: "exact", answer: "x" } }) as unknown as TaskRow;

describe("signal-poor pool", () => {
  it("splits rows by whether their group's rewards differed", () => {
    const rows = ["a", "b", "c"].map(row);
    const { signal, none } = splitBySignal(rows, [0, 0.25, 0]);
    expect(signal.map((r) => r.id)).toEqual(["b"]);
    expect(none.map((r) => r.id)).toEqual(["a", "c"]);
  });

  it("keeps every no-signal row and adds signal rows to the asked share", () => {
    const none = Array.from({ length: 30 }, (_, i) => row(`n${i}`));
    const signal = Array.from({ length: 50 }, (_, i) => row(`s${i}`));
    const pool = signalPoorPool(signal, none, 0.25, new Rng(1));
    expect(pool).toHaveLength(40);
    expect(pool.filter((r) => r.id.startsWith("n"))).toHaveLength(30);
    expect(new Set(pool.map((r) => r.id)).size).toBe(40);
    // Fewer signal rows than the share asks for: all of them, never more.
    expect(signalPoorPool(signal.slice(0, 3), none, 0.25, new Rng(1))).toHaveLength(33);
  });
});
