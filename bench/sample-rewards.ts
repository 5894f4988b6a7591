// Base-rate sampling shared by benches that need each row's reward spread (judge, pool).
import type { TaskRow } from "../src-main/datasets/task-row.js";
import { scoreCompletion } from "../src-main/rewards/score.js";
import type { RolloutEngine } from "../src-main/rollout/rollout-engine.js";
import type { Rng } from "../src-main/util/rng.js";

/** Prompts per generate call. */
const CHUNK = 16;

/** Each row's rewards over `samples` completions at temperature 1 (an unscorable one counts 0), with progress on stderr. */
export async function sampleRewards(engine: RolloutEngine, rows: readonly TaskRow[], samples: number, rng: Rng): Promise<number[][]> {
  const rewards: number[][] = [];
  for (let start = 0; start < rows.length; start += CHUNK) {
    const chunk = rows.slice(start, start + CHUNK);
    const batch = await engine.generate(chunk.map((r) => r.prompt), samples, { temperature: 1, maxTokens: 96, seed: rng.nextU32() });
    for (const [i, row] of chunk.entries()) rewards.push((await Promise.all(batch.completions[i]!.map((c) => scoreCompletion(row.reward, c.text)))).map((r) => r ?? 0));
    process.stderr.write(`\rsampled ${rewards.length}/${rows.length}`);
  }
  process.stderr.write("\n");
  return rewards;
}
