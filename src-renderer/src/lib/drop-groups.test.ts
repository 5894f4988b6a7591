import { describe, expect, it } from "vitest";
import { groupDrop } from "./drop-groups";

const f = (name: string) => ({ name });

describe("groupDrop", () => {
  it("pairs BFCL questions with their answer file, in either order, and keeps other files apart", () => {
    const r = groupDrop([f("BFCL_v4_multiple.answer.json"), f("gsm8k.jsonl"), f("BFCL_v4_multiple.json"), f("BFCL_v4_parallel.json"), f("BFCL_v4_parallel.answer.json")]);
    expect(r.groups.map((g) => [g.file.name, g.answers?.name ?? null])).toEqual([
      ["gsm8k.jsonl", null],
      ["BFCL_v4_multiple.json", "BFCL_v4_multiple.answer.json"],
      ["BFCL_v4_parallel.json", "BFCL_v4_parallel.answer.json"],
    ]);
    expect(r.unpaired).toEqual([]);
  });

  it("pairs one file with one differently named answer file, and reports an answer file dropped alone", () => {
    expect(groupDrop([f("q.json"), f("ground.answer.json")]).groups[0]!.answers?.name).toBe("ground.answer.json");
    expect(groupDrop([f("x.answer.json")])).toEqual({ groups: [], unpaired: [f("x.answer.json")] });
  });
});
