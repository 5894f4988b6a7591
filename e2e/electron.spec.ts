// The desktop app itself, where an Electron binary exists. Electron downloads its binary on first
// use; machines without network access (CI here) have none, and the test says so and skips.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { _electron as electron, expect, test } from "@playwright/test";

function electronBinary(): string | null {
  const dir = join("node_modules", "electron");
  const pathFile = join(dir, "path.txt");
  if (!existsSync(pathFile)) return null;
  const bin = join(dir, "dist", readFileSync(pathFile, "utf8").trim());
  return existsSync(bin) ? bin : null;
}

test("the Electron window opens on the models screen with the built-in model", async () => {
  const bin = electronBinary();
  test.skip(bin === null, "no Electron binary here (it is downloaded on first launch; this machine has no network): the app is tested in Chromium via metis serve instead");
  const app = await electron.launch({ executablePath: bin!, args: ["."] });
  const window = await app.firstWindow();
  await expect(window).toHaveTitle("Metis Workbench");
  await expect(window.getByTestId("host")).toHaveText("Desktop");
  await expect(window.getByRole("cell", { name: /metis-tiny \(built-in\)/ })).toBeVisible({ timeout: 30_000 });
  await window.screenshot({ path: "e2e/artifacts/electron-models.png" });
  await app.close();
});
