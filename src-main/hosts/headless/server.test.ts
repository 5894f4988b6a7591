// The headless server against hostile and broken clients: every request gets an answer and the
// server keeps serving. `GET /%`, `GET //` and an upgrade to `//` each killed it before.
import { writeFileSync, mkdirSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { Engine } from "../../engine/engine.js";
import { useTempDir } from "../../testing/temp-dir.js";
import { MAX_MESSAGE_BYTES, parseRequestTarget, startServer, type HeadlessServer } from "./server.js";

const tmp = useTempDir();
let engine: Engine;
let server: HeadlessServer;
let port = 0;

beforeAll(async () => {
  mkdirSync(tmp.path("renderer"));
  writeFileSync(tmp.path("renderer/index.html"), "<!doctype html><title>metis</title>");
  engine = await Engine.open({ userData: tmp.path("user"), resources: fileURLToPath(new URL("../../../resources", import.meta.url)), host: "test", version: "0.0.0" });
  server = await startServer(engine, tmp.path("renderer"), 0);
  port = Number(new URL(server.url).port);
});
afterAll(async () => {
  await server?.close();
  await engine?.close();
});

/** Send raw bytes; resolve with whatever came back before the server closed or 2 s passed. */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve) => {
    let reply = "";
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    socket.on("data", (d) => (reply += d.toString("latin1")));
    socket.on("error", () => resolve(reply));
    socket.on("close", () => resolve(reply));
    setTimeout(() => {
      socket.destroy();
      resolve(reply);
    }, 2000);
  });
}

const statusOf = (reply: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
const get = (target: string, headers = ""): Promise<string> => raw(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Connection: close\r\n\r\n`);

async function stillServing(): Promise<void> {
  expect(statusOf(await get("/"))).toBe(200);
}

describe("headless server under malformed requests", () => {
  it.each([
    ["/%", 400],
    ["//", 200],
    ["/%E0%A4%A", 400],
    ["/../../../etc/passwd", 404],
    ["/%2e%2e/%2e%2e/etc/passwd", 404],
    ["/%00", 403],
    ["http://evil.example/", 400],
    ["*", 400],
    ["/index.html?token=%", 200],
  ])("GET %s → %d, and it keeps serving", async (target, status) => {
    expect(statusOf(await get(target))).toBe(status);
    await stillServing();
  });

  it.each([
    ["a request line that is not HTTP", "GARBAGE\r\n\r\n"],
    ["a header without a colon", "GET / HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n"],
    ["a header with control characters", "GET / HTTP/1.1\r\nX-A: \u0001\u0002\r\n\r\n"],
    ["a 100 KB header", `GET / HTTP/1.1\r\nX-Big: ${"a".repeat(100_000)}\r\n\r\n`],
    ["a truncated request", "GET / HT"],
    ["a WebSocket upgrade to //", "GET // HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"],
    ["a WebSocket upgrade to /%", "GET /% HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"],
    ["an upgrade with no key", "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"],
  ])("%s gets no crash", async (_, bytes) => {
    await raw(bytes);
    await stillServing();
  });

  it("an authorised WebSocket that sends broken frames is closed alone", async () => {
    const origin = new URL(server.url).origin;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${server.token}`, { origin });
    await new Promise((ok, fail) => ws.once("open", ok).once("error", fail));
    const reply = new Promise<string>((ok) => ws.once("message", (d) => ok(String(d))));
    ws.send("{not json");
    expect(JSON.parse(await reply)).toMatchObject({ kind: "response", ok: false });
    // An unmasked client frame with a reserved opcode breaks the protocol.
    (ws as unknown as { _socket: Socket })._socket.write(Buffer.from([0x83, 0x00]));
    await new Promise((ok) => ws.once("close", ok));
    await stillServing();
  });

  it("a message bigger than one upload chunk is refused before it is buffered (uploads come in chunks)", async () => {
    const origin = new URL(server.url).origin;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${server.token}`, { origin });
    await new Promise((ok, fail) => ws.once("open", ok).once("error", fail));
    // Before, 512 MB messages were accepted: a 400 MB base64 upload peaked at 2.35 GB.
    const closed = new Promise<number>((ok) => ws.once("close", (code) => ok(code)));
    ws.send(JSON.stringify({ id: 1, command: "models.add", params: { name: "big.gguf", contentBase64: "A".repeat(MAX_MESSAGE_BYTES + 1) } }));
    expect(await closed).toBe(1009);
    expect(MAX_MESSAGE_BYTES).toBeLessThan(8 * 2 ** 20);
    await stillServing();
  });

  it("random request targets never take it down", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary", maxLength: 40 }), async (path) => {
        const target = `/${path.replace(/[\s\r\n]/g, "")}`;
        const status = statusOf(await get(target));
        expect(status === 0 || (status >= 200 && status < 500)).toBe(true);
      }),
      { numRuns: 60 },
    );
    await stillServing();
  }, 60_000);

  it("parses request targets defensively", () => {
    expect(parseRequestTarget("/%")).toBeNull();
    expect(parseRequestTarget("//")?.pathname).toBe("//");
    expect(parseRequestTarget("http://x/")).toBeNull();
    expect(parseRequestTarget("/ws?token=a")?.searchParams.get("token")).toBe("a");
  });
});
