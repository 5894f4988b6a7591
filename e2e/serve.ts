// Starts `metis serve` (the built CLI) on a free port with a fresh user-data folder.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Served {
  url: string;
  userData: string;
  stop: () => Promise<void>;
}

/** Start the server and wait for its URL. */
export async function serve(): Promise<Served> {
  const userData = mkdtempSync(join(tmpdir(), "metis-e2e-"));
  const child: ChildProcess = spawn(process.execPath, ["bin/metis.js", "serve", "--port", "0", "--user-data", userData], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`metis serve did not start:\n${log}`)), 30_000);
    const onData = (d: Buffer): void => {
      log += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`metis serve exited with ${code}:\n${log}`)));
  });
  return {
    url,
    userData,
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      rmSync(userData, { recursive: true, force: true });
    },
  };
}
