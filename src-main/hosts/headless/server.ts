// The headless host: serves the built renderer on 127.0.0.1 and carries the protocol over a
// WebSocket. A per-start token gates the API, and the WebSocket accepts only this server's own
// origin, so other local pages cannot drive the engine.
import { randomBytes } from "node:crypto";
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";
import { WebSocketServer, type WebSocket } from "ws";
import type { Engine } from "../../engine/engine.js";
import { RequestSchema, UPLOAD_CHUNK_BYTES } from "../../protocol/protocol.js";

const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png", ".woff2": "font/woff2" };

/** The largest WebSocket message accepted: one upload chunk as base64, plus room for the envelope. */
export const MAX_MESSAGE_BYTES = (UPLOAD_CHUNK_BYTES / 3) * 4 + 64 * 1024;

export interface HeadlessServer {
  url: string;
  token: string;
  close: () => Promise<void>;
}

/** The path and query of a request target, or null when it is not an origin-form path (`/…`) that parses and decodes. */
export function parseRequestTarget(raw: string | undefined): URL | null {
  if (raw === undefined || !raw.startsWith("/")) return null;
  try {
    // Prefixing the origin keeps "//host" a path, not a scheme-relative URL.
    const url = new URL(`http://127.0.0.1${raw}`);
    decodeURIComponent(url.pathname);
    return url;
  } catch {
    return null;
  }
}

/** The file under `root` that `pathname` names (index.html for a folder), null when there is none, "forbidden" outside `root`. */
function resolveStatic(root: string, pathname: string): string | null | "forbidden" {
  const decoded = decodeURIComponent(pathname);
  if (decoded.includes("\0")) return "forbidden";
  let file = join(root, normalize(decoded));
  if (file !== root && !file.startsWith(root + sep)) return "forbidden";
  try {
    if (statSync(file).isDirectory()) file = join(file, "index.html");
    return statSync(file).isFile() ? file : null;
  } catch {
    return null;
  }
}

/** Serve `rendererDir` and the engine on 127.0.0.1:`port` (0 picks a free port). */
export async function startServer(engine: Engine, rendererDir: string, port: number): Promise<HeadlessServer> {
  const root = resolve(rendererDir);
  if (!existsSync(join(root, "index.html"))) throw new Error(`${root}/index.html is missing: build the renderer first (npm run build)`);
  const token = randomBytes(16).toString("hex");
  let origin = "";
  const csp = (): string => `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ${origin.replace("http", "ws")}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'`;

  const http: Server = createServer((req, res) => {
    // Any request line a client sends, however malformed, gets an answer; none reaches past this handler.
    try {
      const url = parseRequestTarget(req.url);
      if (!url) return void res.writeHead(400).end();
      const file = resolveStatic(root, url.pathname);
      if (file === "forbidden") return void res.writeHead(403).end();
      if (file === null) return void res.writeHead(404).end();
      res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Content-Security-Policy": csp(), "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store" });
      createReadStream(file)
        .on("error", () => res.destroy())
        .pipe(res);
    } catch {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  http.on("clientError", (_error, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
  const wss = new WebSocketServer({
    noServer: true,
    // Uploads travel in chunks (uploads.chunk), so no message needs to be large; a bigger frame is
    // refused (close 1009) before it is buffered. 512 MB frames let a 400 MB upload peak at 2.35 GB.
    maxPayload: MAX_MESSAGE_BYTES,
  });
  http.on("upgrade", (req: IncomingMessage, socket, head) => {
    socket.on("error", () => socket.destroy());
    const url = parseRequestTarget(req.url);
    if (!url || url.pathname !== "/ws" || url.searchParams.get("token") !== token || req.headers.origin !== origin) {
      socket.end(`HTTP/1.1 ${url ? "403 Forbidden" : "400 Bad Request"}\r\nConnection: close\r\n\r\n`);
      return;
    }
    try {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
    } catch {
      socket.destroy();
    }
  });
  const clients = new Set<WebSocket>();
  const unsubscribe = engine.onEvent((event) => {
    const msg = JSON.stringify({ kind: "event", event });
    for (const c of clients) if (c.readyState === c.OPEN) c.send(msg);
  });
  wss.on("error", () => {});
  wss.on("connection", (ws: WebSocket) => {
    clients.add(ws);
    // A malformed frame is that connection's problem: close it, keep serving.
    ws.on("error", () => ws.terminate());
    ws.on("close", () => clients.delete(ws));
    ws.on("message", async (data) => {
      let id = -1;
      try {
        const req = RequestSchema.parse(JSON.parse(String(data)));
        id = req.id;
        const result = await engine.handle(req.command, req.params);
        ws.send(JSON.stringify({ kind: "response", id, ok: true, result }));
      } catch (e) {
        const err = e as Error;
        ws.send(JSON.stringify({ kind: "response", id, ok: false, error: { name: err.name ?? "Error", message: err.message ?? String(e) } }));
      }
    });
  });
  await new Promise<void>((ok) => http.listen(port, "127.0.0.1", ok));
  const actual = (http.address() as { port: number }).port;
  origin = `http://127.0.0.1:${actual}`;
  return {
    url: `${origin}/?token=${token}`,
    token,
    close: async () => {
      unsubscribe();
      for (const c of clients) c.terminate();
      await new Promise<void>((ok) => wss.close(() => ok()));
      // A browser's keep-alive connections would hold close() open (2 min seen in e2e): drop them.
      const closed = new Promise<void>((ok) => http.close(() => ok()));
      http.closeAllConnections();
      await closed;
    },
  };
}
