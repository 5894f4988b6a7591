// Electron cannot run here (no binary): its decisions are pure functions, tested directly.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { ELECTRON_CSP, ELECTRON_CSP_HEADER, isAllowedExternalUrl, isTrustedSender, withCsp } from "./security-policy.js";

const PAGE_URL = pathToFileURL("/opt/Metis Workbench/resources/app/out/renderer/electron.html").href;
const trusted = { frameUrl: PAGE_URL, isTopFrame: true, fromAppWindow: true };

/** The directives of a policy, by name. */
function directives(csp: string): Map<string, string[]> {
  return new Map(csp.split(";").map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([name, ...values]) => [name!, values]));
}

describe("IPC sender check", () => {
  it("trusts the app window's top frame on the app's page (query and hash aside)", () => {
    expect(isTrustedSender(trusted, PAGE_URL)).toBe(true);
    expect(isTrustedSender({ ...trusted, frameUrl: `${PAGE_URL}?bench=heatmap#runs` }, PAGE_URL)).toBe(true);
  });

  it.each([
    ["an iframe of the app's page", { isTopFrame: false }],
    ["another window", { fromAppWindow: false }],
    ["a frame that is gone", { frameUrl: null }],
    ["a web page", { frameUrl: "https://example.com/electron.html" }],
    ["another local file", { frameUrl: pathToFileURL("/tmp/evil.html").href }],
    ["a sibling file of the page", { frameUrl: PAGE_URL.replace("electron.html", "index.html") }],
    ["a file on another host", { frameUrl: PAGE_URL.replace("file:///", "file://evil/") }],
    ["a data URL", { frameUrl: "data:text/html,<script>1</script>" }],
    ["garbage", { frameUrl: "::" }],
  ] as const)("refuses %s", (_what, change) => {
    expect(isTrustedSender({ ...trusted, ...change }, PAGE_URL)).toBe(false);
  });
});

describe("external links", () => {
  const allowed = ["https://docs.example.org/metis/", "https://example.org/guide"];
  it("opens only https pages under an allowed prefix", () => {
    expect(isAllowedExternalUrl("https://docs.example.org/metis/runs.html#x", allowed)).toBe(true);
    expect(isAllowedExternalUrl("https://example.org/guide", allowed)).toBe(true);
    expect(isAllowedExternalUrl("https://example.org/guide/setup", allowed)).toBe(true);
  });

  it.each([
    "https://example.org/guide-evil",
    "https://docs.example.org/other/",
    "https://docs.example.org/metis/../other/",
    "http://docs.example.org/metis/",
    "https://docs.example.org.evil.com/metis/",
    "https://user:pass@docs.example.org/metis/",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "not a url",
  ])("refuses %s", (url) => {
    expect(isAllowedExternalUrl(url, allowed)).toBe(false);
  });

  it("with the app's own list (the renderer links nowhere), refuses every https page", () => {
    expect(isAllowedExternalUrl("https://github.com/")).toBe(false);
  });
});

describe("the Electron CSP", () => {
  const indexHtml = readFileSync(new URL("../../../src-renderer/index.html", import.meta.url), "utf8");

  it("replaces index.html's policy: no WebSocket, nothing beyond the app's own files", () => {
    const html = withCsp(indexHtml);
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]*)"/.exec(html)?.[1];
    expect(meta).toBe(ELECTRON_CSP);
    expect(html).not.toMatch(/ws:/);
    const d = directives(meta!);
    expect(d.get("connect-src")).toEqual(["'self'"]);
    expect(d.get("script-src")).toEqual(["'self'"]);
    expect(d.get("object-src")).toEqual(["'none'"]);
    // Everything else in the page is unchanged.
    expect(html.replace(meta!, "")).toBe(indexHtml.replace(/content="default-src[^"]*"/, 'content=""'));
  });

  it("the header form adds frame-ancestors (ignored in a meta tag) and nothing else", () => {
    expect(ELECTRON_CSP_HEADER).toBe(`${ELECTRON_CSP}; frame-ancestors 'none'`);
    expect(directives(ELECTRON_CSP).has("frame-ancestors")).toBe(false);
  });

  it("refuses a page without exactly one CSP meta tag, so a build never ships without one", () => {
    expect(() => withCsp("<html><head></head></html>")).toThrow(/found 0/);
    const twice = indexHtml.replace("<title>", '<meta http-equiv="Content-Security-Policy" content="default-src *" /><title>');
    expect(() => withCsp(twice)).toThrow(/found 2/);
  });
});
