import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "metis-relaunch-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A command that relaunches itself once with RELAUNCHED=1, as the CLI does with its malloc setting;
// the child reports its variable, then exits with the code given or waits for a signal.
const script = join(dir, "command.mts");
writeFileSync(script, `
import { exitWithParent, relaunchWith } from ${JSON.stringify(new URL("./relaunch.ts", import.meta.url).pathname)};
if (process.env.RELAUNCHED === undefined) {
  process.exitCode = await relaunchWith({ RELAUNCHED: "1" });
} else if (process.argv[2] === "orphan") {
  exitWithParent();
  console.log("ready pid=" + process.pid);
  setInterval(() => {}, 1000);
} else if (process.argv[2] === "wait") {
  process.on("SIGTERM", () => { console.log("child got SIGTERM"); process.exit(0); });
  console.log("ready RELAUNCHED=" + process.env.RELAUNCHED);
  setInterval(() => {}, 1000);
} else {
  console.log("child RELAUNCHED=" + process.env.RELAUNCHED + " args=" + process.argv.slice(2).join(","));
  process.exitCode = Number(process.argv[2]);
}
`);

describe("relaunchWith", () => {
  it("runs the command again with the variable and the same arguments, and exits with the child's code", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", script, "3", "x"], { encoding: "utf8" });
    expect(r.stdout).toBe("child RELAUNCHED=1 args=3,x\n");
    expect(r.status).toBe(3);
  }, 30_000);

  it("passes a SIGTERM sent to the parent alone on to the child, and ends with it", async () => {
    const parent = spawn(process.execPath, ["--import", "tsx", script, "wait"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    await new Promise<void>((ready) => parent.stdout.on("data", (d: Buffer) => { out += d.toString(); if (out.includes("ready")) ready(); }));
    expect(out).toContain("ready RELAUNCHED=1");
    parent.kill("SIGTERM");
    const code = await new Promise<number | null>((done) => parent.once("exit", (c) => done(c)));
    expect(out).toContain("child got SIGTERM");
    expect(code).toBe(0);
  }, 30_000);

  it("a child whose parent is SIGKILLed (no signal to pass on) ends too, instead of running on as an orphan", async () => {
    const parent = spawn(process.execPath, ["--import", "tsx", script, "orphan"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    await new Promise<void>((ready) => parent.stdout.on("data", (d: Buffer) => { out += d.toString(); if (out.includes("ready")) ready(); }));
    const pid = Number(/ready pid=(\d+)/.exec(out)![1]);
    parent.kill("SIGKILL");
    const alive = (): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };
    const deadline = Date.now() + 10_000;
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive()).toBe(false);
  }, 30_000);
});
