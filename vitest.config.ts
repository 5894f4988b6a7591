import { defineConfig } from "vitest/config";

// Unit tests sit beside the code they test. `*.gpu.test.ts` needs a GPU and runs only on one
// (npm run test:gpu); CI never has a GPU.
const gpu = process.env.METIS_GPU_TESTS === "1";

export default defineConfig({
  test: {
    include: gpu ? ["src-main/**/*.gpu.test.ts"] : ["src-main/**/*.test.ts", "src-renderer/**/*.test.ts", "bench/**/*.test.ts"],
    exclude: gpu ? [] : ["**/*.gpu.test.ts", "**/node_modules/**"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Native llama.cpp contexts are heavy: one worker keeps a 2-core machine responsive and timings sane.
    pool: "forks",
    maxWorkers: 2,
  },
});
