// `npm run bench -- <name>`: runs one benchmark and writes its JSON under bench/results/.
import { curriculaBench } from "./curricula-bench.js";
import { judgeBench } from "./judge-bench.js";
import { learnBench } from "./learn-bench.js";
import { memoryBench, scaleBench } from "./memory-bench.js";
import { poolBench } from "./pool-bench.js";
import { preflightBench } from "./preflight-bench.js";
import { rolloutBench } from "./rollout-bench.js";
import { soakBench } from "./soak-bench.js";
import { stepCostBench } from "./step-cost-bench.js";
import { storeBench } from "./store-bench.js";
import { trainOpBench } from "./train-op-bench.js";
import { trainStepBench } from "./train-step-bench.js";

const BENCHES: Record<string, (argv: string[]) => Promise<string>> = {
  rollout: rolloutBench,
  curricula: curriculaBench,
  learn: learnBench,
  "train-op": trainOpBench,
  "train-step": trainStepBench,
  soak: soakBench,
  preflight: preflightBench,
  store: storeBench,
  judge: judgeBench,
  pool: poolBench,
  "step-cost": stepCostBench,
  memory: memoryBench,
  scale: scaleBench,
};

const [name, ...rest] = process.argv.slice(2);
const bench = name === undefined ? undefined : BENCHES[name];
if (!bench) {
  console.error(`usage: npm run bench -- <${Object.keys(BENCHES).join("|")}>${name ? `\nunknown benchmark "${name}"` : ""}`);
  process.exit(2);
}
const path = await bench(rest);
if (path) console.log(`result written to ${path}`);
