// Entry point of the built CLI (out/main/cli.js), run by bin/metis.js. On Linux it first runs
// itself again with the engine's malloc setting (hosts/malloc-env.ts), which glibc reads only at
// process start; the commands are imported only in the process that runs them.
import { engineMallocEnv } from "../hosts/malloc-env.js";
import { exitWithParent, relaunchWith } from "../hosts/relaunch.js";

const extra = engineMallocEnv(process.env);
if (Object.keys(extra).length > 0) {
  process.exitCode = await relaunchWith(extra);
} else {
  exitWithParent();
  const { main } = await import("./main.js");
  process.exitCode = await main(process.argv.slice(2));
}
