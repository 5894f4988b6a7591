import { existsSync } from "node:fs";
import { defineConfig } from "@playwright/test";

// Nothing can be downloaded here, so Playwright drives the system Chromium (Debian's package);
// PLAYWRIGHT_CHROMIUM overrides the path on other machines.
const chromium = process.env.PLAYWRIGHT_CHROMIUM ?? "/usr/bin/chromium";
if (!existsSync(chromium)) throw new Error(`e2e needs Chromium at ${chromium} (apt-get install chromium, or set PLAYWRIGHT_CHROMIUM)`);

export default defineConfig({
  testDir: "e2e",
  outputDir: "e2e/artifacts/results",
  timeout: 120_000,
  workers: 1,
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    launchOptions: { executablePath: chromium, args: ["--no-sandbox"] },
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    actionTimeout: 30_000,
    viewport: { width: 1280, height: 800 },
  },
});
