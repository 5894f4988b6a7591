import { resolve } from "node:path";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "electron-vite";

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
    plugins: [svelte({ configFile: resolve("svelte.config.js") })],
    build: {
      outDir: resolve("out/renderer"),
      rolldownOptions: { input: resolve("src-renderer/index.html") },
    },
  },
});
