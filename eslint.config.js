import js from "@eslint/js";
import svelte from "eslint-plugin-svelte";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["out/", "dist/", "node_modules/", "e2e/artifacts/", "bench/results/", "scratch/", "resources/", ".device/", ".gl/", "test-results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2024, sourceType: "module" },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      eqeqeq: ["error", "always"],
      "no-restricted-imports": "off",
    },
  },
  {
    files: ["src-renderer/**/*.{ts,svelte}"],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ["**/*.svelte", "**/*.svelte.ts"],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: [".svelte"] } },
  },
  {
    // Only the rollout engine talks to llama.cpp, only the training engine to onnxruntime, only hosts to Electron.
    files: ["src-main/**/*.ts"],
    ignores: ["src-main/rollout/**", "src-main/train/**", "src-main/hosts/electron/**"],
    rules: {
      "no-restricted-imports": ["error", { paths: ["node-llama-cpp", "onnxruntime-node", "electron"] }],
    },
  },
);
