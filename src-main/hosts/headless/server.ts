// The headless host: serves the built renderer on 127.0.0.1 and carries the protocol over a
// WebSocket. A per-start token gates the API, and the WebSocket accepts only this server's own
// origin, so other local pages cannot drive the engine.
import { randomBytes } from "node:crypto";
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { extname, join, normalize, resolve } from "node:path";
import { WebSocketServer, type WebSocket } from "ws";
import type { Engine } from "../../engine/engine.js";
import { RequestSchema } from "../../protocol/protocol.js";

const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png", ".woff2": "font/woff2" };

export interface HeadlessServer {
  url: string;
  token: string;
  close: () => Promise<void>;
}

/** Serve `rendererDir` and the engine on 127.0.0.1:`port` (0 picks a free port). */
export async function startServer(engine: Engine, rendererDir: string, port: number): Promise<HeadlessServer> {
  const root = resolve(rendererDir);
  if (!existsSync(join(root, "index.html"))) throw new Error(`${root}/index.html is missing: build the renderer first (npm run build)`);
  const token = randomBytes(16).toString("hex");
  let origin = "";
  const csp = (): string => `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ${origin.replace("http", "ws")}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'`;

  const http: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    let file = join(root, normalize(decodeURIComponent(url.pathname)));
    if (!file.startsWith(root)) return void res.writeHead(403).end();
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    if (!existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Content-Security-Policy": csp(), "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store" });
    createReadStream(file).pipe(res);
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 512 * 2 ** 20, // uploads of datasets and models travel as base64
  });
  http.on("upgrade", (req: IncomingMessage, socket, head) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname !== "/ws" || url.searchParams.get("token") !== token || req.headers.origin !== origin) {
      socket.write("HTTP/1.1 403 Forbidden\r\n\r\n");
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  });
  const clients = new Set<WebSocket>();
  const unsubscribe = engine.onEvent((event) => {
    const msg = JSON.stringify({ kind: "event", event });
    for (const c of clients) c.send(msg);
  });
  wss.on("connection", (ws: WebSocket) => {
    clients.add(ws);
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
      await new Promise<void>((ok) => http.close(() => ok()));
    },
  };
}
