// The code sandboxes against what an attacker or an unlucky completion does. Each escape here ran
// host commands or reached Node's `process` before the sandbox moved into its own process.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { afterAll, describe, expect, it } from "vitest";
import { jsCodeRewardDetailed, pythonCodeReward, pythonCodeRewardDetailed } from "../rewards/code-reward.js";
import { userJsReward } from "../rewards/user-reward.js";
import { useTempDir } from "../testing/temp-dir.js";
import { closeSandboxes, runSandboxed, sandboxPool } from "./sandbox-pool.js";
import { sandboxNodeFlags } from "./sandbox-process.js";

afterAll(() => closeSandboxes());
const tmp = useTempDir();
const pyodideEntry = createRequire(import.meta.url).resolve("pyodide");

const py = (code: string, timeoutMs = 20_000) => runSandboxed("python", code, { timeoutMs });
const js = (code: string, timeoutMs = 1000) => runSandboxed("javascript", code, { timeoutMs });

describe("Python sandbox", () => {
  it("runs no host command and writes no host file", async () => {
    {
      const target = tmp.path("pwned");
      const attempts = [
        `import os\nos.system("id > ${target}")`,
        `import subprocess\nsubprocess.run(["sh", "-c", "id > ${target}"])`,
        `open("${target}", "w").write("x")`,
        `import os\nos.makedirs("${tmp.path("d")}", exist_ok=True)\nopen("${target}", "w").write("x")`,
      ];
      for (const code of attempts) {
        await py(code);
        expect(existsSync(target), code).toBe(false);
      }
      // The interpreter a denied call broke is replaced: the next request runs normally.
      expect(await py("assert 1 + 1 == 2")).toEqual({ ok: true, value: null });
    }
  }, 120_000);

  it.each([
    ["import js", "No module named 'js'"],
    ["import sys\ndel sys.modules['js']\nimport js\njs.constructor.constructor('return process')()", "KeyError"],
    ["import pyodide_js", "No module named 'pyodide_js'"],
    ["from pyodide.code import run_js\nrun_js('process.exit(3)')", "No module named 'js'"],
    ["from pyodide.ffi import to_js\nto_js({'a': 1}).constructor.constructor('return process')()", "Code generation from strings disallowed"],
    ["open('/etc/passwd').read()", "No such file or directory"],
    ["import socket\nsocket.socket().connect(('127.0.0.1', 80))", "OSError"],
  ])("escape %j fails", async (code, message) => {
    const outcome = await py(code);
    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? "" : outcome.error).toContain(message);
  }, 60_000);

  it("leaves no JS object reachable through the garbage collector that can run code", async () => {
    const code = `import gc
for o in gc.get_objects():
    if type(o).__name__ == 'JsProxy':
        try:
            o.constructor.constructor('return process')()
        except Exception:
            continue
        raise SystemExit('escaped')`;
    expect(await py(code)).toEqual({ ok: true, value: null });
  }, 60_000);

  it("scores each completion of a group on its own: a loop fails alone, queued time does not count", async () => {
    const tests = "assert f(2) == 4";
    const good = "def f(x):\n    return x * 2\n";
    const slow = "import time\ndef f(x):\n    t = time.time()\n    while time.time() - t < 1.2:\n        pass\n    return x * 2\n";
    const loop = "def f(x):\n    while True:\n        pass\n";
    const group = await Promise.all([loop, good, good, good].map((c) => pythonCodeReward(c, "f", tests, "", 2500)));
    expect(group).toEqual([0, 1, 1, 1]);
    // Four 1.2 s completions against a 2.5 s deadline each: at most two run at once, all pass.
    const slowGroup = await Promise.all([slow, slow, slow, slow].map((c) => pythonCodeReward(c, "f", tests, "", 2500)));
    expect(slowGroup).toEqual([1, 1, 1, 1]);
  }, 120_000);

  it("caps memory, says so, and returns it", async () => {
    const before = process.memoryUsage().rss;
    const outcome = await pythonCodeRewardDetailed("a = []\nwhile True:\n    a.append(bytearray(10**7))\n", "f", "", "", 60_000);
    expect(outcome.reward).toBe(0);
    expect(outcome.reason).toMatch(/^memory/);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 2 ** 20);
    expect(await py("x = bytearray(10**6)")).toEqual({ ok: true, value: null });
  }, 120_000);

  it("undoes one completion's monkeypatching before the next", async () => {
    expect(await py("import math, builtins\nmath.sqrt = lambda x: 1\nbuiltins.len = lambda x: 0")).toEqual({ ok: true, value: null });
    expect(await py("import math\nassert math.sqrt(4) == 2\nassert len([1, 2]) == 2")).toEqual({ ok: true, value: null });
  }, 60_000);

  it("an entry point that is not an identifier is an unscorable row, not a failed run", async () => {
    expect(await pythonCodeRewardDetailed("def f(x): return x", "f(", "assert True")).toMatchObject({ reward: null, reason: expect.stringContaining("not a Python identifier") });
  });
});

describe("JavaScript sandbox", () => {
  it.each([
    "constructor.constructor('return process')()",
    "require('fs')",
    "process.exit(1)",
    "import('node:fs')",
  ])("escape %j fails", async (code) => {
    expect((await js(code)).ok).toBe(false);
  });

  it("its own global object has nothing of Node's", async () => {
    expect(await js("[typeof (function(){}).constructor('return this')().process, typeof require, typeof fetch, typeof XMLHttpRequest]")).toEqual({ ok: true, value: ["undefined", "undefined", "undefined", "undefined"] });
  });

  it("survives unbounded recursion in a completion and in a dataset's tests", async () => {
    expect(await jsCodeRewardDetailed("x => { const g = (n) => g(n + 1) + 1; return g(0); }", "f", "f(1)")).toMatchObject({ reward: 0 });
    expect(await jsCodeRewardDetailed("x => x", "f", "function t(){ return t() } t()")).toMatchObject({ reward: 0 });
    expect(await jsCodeRewardDetailed("x => x * 2", "f", "if (f(2) !== 4) throw new Error()")).toEqual({ reward: 1 });
  });

  it("an entry point such as `f(` is an unscorable row, not a failed run", async () => {
    expect(await jsCodeRewardDetailed("x => x", "f(", "f(1)")).toMatchObject({ reward: null, reason: expect.stringContaining("not a JavaScript identifier") });
  });

  it("caps memory at tens of MB and the host keeps none of it", async () => {
    const before = process.memoryUsage().rss;
    const outcome = await runSandboxed("javascript", "const a = []; for (;;) a.push('x'.repeat(1e5) + a.length);", { timeoutMs: 30_000, memoryBytes: 32 * 2 ** 20 });
    expect(outcome).toMatchObject({ ok: false, kind: "memory" });
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 2 ** 20);
  });

  it("a user reward file cannot reach the host either", async () => {
    await expect(userJsReward("function reward() { return constructor.constructor('return process')().pid }", "c", null)).rejects.toThrow(/user reward failed/);
  });
});

describe("closing", () => {
  it("ends and reaps every sandbox process (a run thread does this before it exits)", async () => {
    expect(await js("1 + 1")).toEqual({ ok: true, value: 2 });
    const pids = sandboxPool("javascript").pids;
    expect(pids.length).toBeGreaterThan(0);
    await closeSandboxes();
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(pids.filter(alive)).toEqual([]);
    expect(await js("2 + 2")).toEqual({ ok: true, value: 4 }); // a new pool starts on demand
  });
});

describe("the sandbox process itself (assuming code escaped its interpreter)", () => {
  // Run attacker JavaScript directly under the flags a sandbox child gets: the process is the wall.
  const breach = (source: string) =>
    spawnSync(process.execPath, [...sandboxNodeFlags("python"), "-e", source], { encoding: "utf8", env: {}, timeout: 20_000 });

  it.each([
    ["writes a file", "require('fs').writeFileSync(require('os').tmpdir() + '/metis-breach', 'x')"],
    ["reads a host file", "require('fs').readFileSync('/etc/hostname')"],
    ["starts a process", "require('child_process').execSync('id')"],
    ["starts a worker", "new (require('worker_threads').Worker)('0', { eval: true })"],
    ["evaluates a string", "new Function('return 1')()"],
  ])("cannot: %s", (_, source) => {
    const r = breach(`try { ${source}; console.log("ALLOWED") } catch (e) { console.log("DENIED", e.code ?? e.message) }`);
    expect(r.stdout).toContain("DENIED");
  });

  it("can read the runtime's own files", () => {
    const r = breach(`require(${JSON.stringify(pyodideEntry)}); console.log("LOADED")`);
    expect(r.stdout).toContain("LOADED");
  });
});
