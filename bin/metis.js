#!/usr/bin/env node
// The `metis` command. `npm install` builds out/ (the "prepare" script); this file only loads it.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../out/main/cli.js", import.meta.url));
if (!existsSync(cli)) {
  console.error(`metis: ${cli} is missing; build it with \`npm run build\` in ${fileURLToPath(new URL("..", import.meta.url))}`);
  process.exit(1);
}
await import(cli);
