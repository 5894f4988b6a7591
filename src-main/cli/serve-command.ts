// `metis serve`: the app in a browser, served from 127.0.0.1 with a per-start token.
import { homedir } from "node:os";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Engine } from "../engine/engine.js";
import { startServer } from "../hosts/headless/server.js";
import { numberOption } from "./usage-error.js";

export const SERVE_USAGE = "metis serve [--port N] [--user-data DIR]";

/** The package root: the nearest folder above this module holding package.json (built or from source). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the package root (package.json)");
    dir = up;
  }
  return dir;
}

/** Run `metis serve` until interrupted. */
export async function serveCommand(argv: string[]): Promise<string> {
  const { values } = parseArgs({ args: argv, strict: true, options: { port: { type: "string" }, "user-data": { type: "string" } } });
  const root = packageRoot();
  const engine = await Engine.open({
    userData: resolve(values["user-data"] ?? join(homedir(), ".metis-workbench")),
    resources: join(root, "resources"),
    host: "browser",
    version: "0.1.0",
  });
  const server = await startServer(engine, join(root, "out", "renderer"), numberOption("port", values.port, 7411, { integer: true, min: 0, max: 65535 }));
  console.log(`Metis Workbench: ${server.url}`);
  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      done();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await engine.close();
  await server.close();
  return "stopped (live runs paused at a checkpoint)";
}
