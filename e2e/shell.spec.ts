import { expect, test } from "@playwright/test";
import { serveStatic } from "./static-server.js";

let server: Awaited<ReturnType<typeof serveStatic>>;
test.beforeAll(async () => {
  server = await serveStatic("out/renderer");
});
test.afterAll(() => server.close());

test("the renderer shell loads with its CSP, navigates between sections, and logs no errors", async ({ page }) => {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(server.url);
  await expect(page.locator("h1")).toHaveText("Models");
  const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute("content");
  expect(csp).toContain("script-src 'self'");
  await expect(page.getByTestId("host")).toHaveText("Browser");
  await page.getByRole("button", { name: "Datasets" }).click();
  await expect(page.locator("h1")).toHaveText("Datasets");
  await expect(page.getByRole("button", { name: "Datasets" })).toHaveAttribute("aria-current", "page");
  await page.screenshot({ path: "e2e/artifacts/shell.png" });
  expect(problems).toEqual([]);
});
