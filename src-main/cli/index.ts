// Entry point of the built CLI (out/main/cli.js), run by bin/metis.js.
import { main } from "./main.js";

process.exitCode = await main(process.argv.slice(2));
