// The Electron host's security decisions as pure functions: which IPC senders are trusted,
// which external links may open, and the renderer's Content Security Policy. No `electron`
// import, so they are unit-tested where Electron cannot run; main.ts and the build only call them.

/** The page the Electron window loads: index.html rewritten with ELECTRON_CSP at build time. */
export const ELECTRON_PAGE = "electron.html";

/**
 * The renderer's CSP in Electron. The protocol travels over IPC, so unlike under `metis serve`
 * (whose server sends its own header allowing its one WebSocket) nothing may connect to
 * ws://127.0.0.1:* — any local service. Meta-tag form: frame-ancestors is ignored there.
 */
export const ELECTRON_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'";

/** The same policy as a response header (where frame-ancestors applies). */
export const ELECTRON_CSP_HEADER = `${ELECTRON_CSP}; frame-ancestors 'none'`;

/**
 * External pages the renderer may open in the user's browser: URL prefixes (origin and path).
 * The renderer links to no external page today, so every window.open is refused.
 */
export const EXTERNAL_LINKS: readonly string[] = [];

const CSP_META = /(<meta\s+http-equiv=["']Content-Security-Policy["']\s+content=)("[^"]*"|'[^']*')/gi;

/** index.html with its CSP meta tag's policy replaced by `csp`; throws unless there is exactly one such tag. */
export function withCsp(html: string, csp: string = ELECTRON_CSP): string {
  const found = html.match(CSP_META)?.length ?? 0;
  if (found !== 1) throw new Error(`expected one Content-Security-Policy meta tag in the renderer's index.html, found ${found}`);
  if (/["]/.test(csp)) throw new Error("a CSP must not contain a double quote");
  return html.replace(CSP_META, (_m, head: string) => `${head}"${csp}"`);
}

/** What main.ts knows about the sender of an IPC message. */
export interface IpcSender {
  /** URL of the sending frame; null when the frame is gone (navigated or destroyed). */
  frameUrl: string | null;
  /** The sending frame is its page's top frame (not an iframe). */
  isTopFrame: boolean;
  /** It was sent by the app window's web contents. */
  fromAppWindow: boolean;
}

/** Whether an IPC message comes from the app's own page: its window, its top frame, the file it loaded (query and hash aside). */
export function isTrustedSender(sender: IpcSender, appPageUrl: string): boolean {
  if (!sender.fromAppWindow || !sender.isTopFrame || sender.frameUrl === null) return false;
  const url = parseUrl(sender.frameUrl);
  const app = parseUrl(appPageUrl);
  if (!url || !app) return false;
  return url.protocol === "file:" && app.protocol === "file:" && url.host === app.host && url.pathname === app.pathname;
}

/** Whether `url` may open in the user's browser: https, no credentials, and under one of `allowed` (origin equal, path prefix). */
export function isAllowedExternalUrl(url: string, allowed: readonly string[] = EXTERNAL_LINKS): boolean {
  const u = parseUrl(url);
  if (!u || u.protocol !== "https:" || u.username !== "" || u.password !== "") return false;
  return allowed.some((prefix) => {
    const p = parseUrl(prefix);
    if (p === null || p.protocol !== "https:" || u.origin !== p.origin) return false;
    // "/docs" allows "/docs" and "/docs/…", not "/docs-evil".
    const dir = p.pathname.endsWith("/") ? p.pathname : `${p.pathname}/`;
    return u.pathname === p.pathname || u.pathname.startsWith(dir);
  });
}

function parseUrl(s: string): URL | null {
  try {
    return new URL(s);
  } catch {
    return null;
  }
}
