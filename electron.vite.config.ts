import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "electron-vite";
import type { Plugin } from "vite";
import { ELECTRON_CSP, ELECTRON_PAGE, withCsp } from "./src-main/hosts/electron/security-policy.js";

/**
 * Writes the Electron window's page: the built index.html with the Electron CSP. Under file://
 * a meta tag is the only CSP; index.html's allows ws://127.0.0.1:* for `metis serve`'s WebSocket
 * (whose server also sends its own, narrower header), which the desktop app must not allow.
 */
function electronPage(): Plugin {
  return {
    name: "metis-electron-page",
    apply: "build",
    writeBundle(options) {
      const dir = options.dir ?? resolve("out/renderer");
      writeFileSync(join(dir, ELECTRON_PAGE), withCsp(readFileSync(join(dir, "index.html"), "utf8"), ELECTRON_CSP));
    },
  };
}

// Three builds: the Node side (Electron main, and the headless CLI that shares the engine),
// the preload bridge (CommonJS: sandboxed preloads cannot be ES modules), and the renderer.
export default defineConfig({
  main: {
    build: {
      // Native packages (node-llama-cpp, onnxruntime-node) are loaded from node_modules at run time.
      externalizeDeps: true,
      rolldownOptions: {
        input: {
          index: resolve("src-main/hosts/electron/main.ts"),
          engine: resolve("src-main/hosts/electron/engine-process.ts"),
          cli: resolve("src-main/cli/index.ts"),
          // Each live run's thread (engine/live-run.ts finds it beside the entries).
          "run-worker": resolve("src-main/engine/run-worker.ts"),
          // Evaluation jobs' threads (engine/jobs.ts): base against adapter, "try it".
          "job-worker": resolve("src-main/engine/job-worker.ts"),
        },
      },
    },
  },
  preload: {
    build: {
      rolldownOptions: {
        input: { index: resolve("src-main/hosts/electron/preload.ts") },
        output: { format: "cjs", entryFileNames: "[name].cjs" },
      },
    },
  },
  renderer: {
    root: "src-renderer",
    plugins: [svelte({ configFile: resolve("svelte.config.js") }), electronPage()],
    build: {
      outDir: resolve("out/renderer"),
      rolldownOptions: { input: resolve("src-renderer/index.html") },
    },
  },
});
