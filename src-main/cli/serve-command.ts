// `metis serve`: the app in a browser, served from 127.0.0.1 with a per-start token.
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { Engine } from "../engine/engine.js";
import { startServer } from "../hosts/headless/server.js";
import { int, parseCommand, str, type CommandSpec } from "./options.js";
import { packageRoot } from "./package-root.js";

export const SERVE_COMMAND = {
  name: "serve",
  summary: "the app in a browser, served on 127.0.0.1 with a per-start token in the URL",
  options: {
    port: int("N", "port to listen on (0 picks a free one)", { default: 7411, min: 0, max: 65535 }),
    "user-data": str("DIR", "folder for models, datasets and runs", { default: join(homedir(), ".metis-workbench") }),
  },
} satisfies CommandSpec;

/** Run `metis serve` until interrupted. */
export async function serveCommand(argv: string[]): Promise<string> {
  const { values } = parseCommand(SERVE_COMMAND, argv);
  const root = packageRoot();
  const engine = await Engine.open({
    userData: resolve(values["user-data"]),
    resources: join(root, "resources"),
    host: "browser",
    version: "0.1.0",
  });
  const server = await startServer(engine, join(root, "out", "renderer"), values.port);
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
