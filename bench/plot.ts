// Curves with seed bands, as an SVG (labelled) and a PNG (the same picture, for viewers without
// SVG). Each series: a mean line and a min–max band over seeds at shared x positions.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { PNG } from "pngjs";

export interface BandSeries {
  label: string;
  color: string;
  x: number[];
  mean: number[];
  low: number[];
  high: number[];
  /** A dashed mean line: tells series apart once the palette's colours repeat. */
  dashed?: boolean;
}

export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: BandSeries[];
}

export const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f"];

const W = 900, H = 540, M = { left: 70, right: 190, top: 40, bottom: 55 };

function scales(spec: PlotSpec): { sx: (x: number) => number; sy: (y: number) => number; x0: number; x1: number; y0: number; y1: number } {
  const xs = spec.series.flatMap((s) => s.x);
  const ys = spec.series.flatMap((s) => [...s.low, ...s.high]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const pad = 0.02;
  const y0 = Math.max(0, Math.min(...ys) - pad), y1 = Math.min(1, Math.max(...ys) + pad);
  return { x0, x1, y0, y1, sx: (x) => M.left + ((x - x0) / (x1 - x0)) * (W - M.left - M.right), sy: (y) => H - M.bottom - ((y - y0) / Math.max(1e-9, y1 - y0)) * (H - M.top - M.bottom) };
}

/** The plot as SVG text. */
export function plotSvg(spec: PlotSpec): string {
  const { sx, sy, x0, x1, y0, y1 } = scales(spec);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>`];
  parts.push(`<text x="${W / 2 - M.right / 2}" y="22" text-anchor="middle" font-size="15">${spec.title}</text>`);
  for (let i = 0; i <= 5; i++) {
    const y = y0 + ((y1 - y0) * i) / 5;
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${sy(y)}" y2="${sy(y)}" stroke="#ddd"/><text x="${M.left - 6}" y="${sy(y) + 4}" text-anchor="end">${(y * 100).toFixed(1)}%</text>`);
    const x = x0 + ((x1 - x0) * i) / 5;
    parts.push(`<text x="${sx(x)}" y="${H - M.bottom + 18}" text-anchor="middle">${Math.round(x)}</text>`);
  }
  parts.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">${spec.xLabel}</text>`);
  parts.push(`<text transform="translate(16 ${H / 2}) rotate(-90)" text-anchor="middle">${spec.yLabel}</text>`);
  spec.series.forEach((s, k) => {
    const band = [...s.x.map((x, i) => `${sx(x)},${sy(s.high[i]!)}`), ...[...s.x].reverse().map((x, j) => `${sx(x)},${sy(s.low[s.x.length - 1 - j]!)}`)].join(" ");
    parts.push(`<polygon points="${band}" fill="${s.color}" fill-opacity="0.18"/>`);
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
    parts.push(`<polyline points="${s.x.map((x, i) => `${sx(x)},${sy(s.mean[i]!)}`).join(" ")}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    const swatch = s.dashed
      ? `<line x1="${W - M.right + 12}" x2="${W - M.right + 30}" y1="${M.top + k * 20 + 5}" y2="${M.top + k * 20 + 5}" stroke="${s.color}" stroke-width="3" stroke-dasharray="5 3"/>`
      : `<rect x="${W - M.right + 14}" y="${M.top + k * 20}" width="14" height="10" fill="${s.color}"/>`;
    parts.push(`${swatch}<text x="${W - M.right + 34}" y="${M.top + k * 20 + 9}">${s.label}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** The plot as a PNG (lines and bands; the labels are in the SVG). */
export function plotPng(spec: PlotSpec): Buffer {
  const { sx, sy } = scales(spec);
  const png = new PNG({ width: W, height: H });
  png.data.fill(255);
  const rgb = (hex: string): [number, number, number] => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
  const blend = (x: number, y: number, c: [number, number, number], a: number): void => {
    const xi = Math.round(x), yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= W || yi >= H) return;
    const o = (yi * W + xi) * 4;
    for (let k = 0; k < 3; k++) png.data[o + k] = Math.round(png.data[o + k]! * (1 - a) + c[k]! * a);
  };
  const line = (xa: number, ya: number, xb: number, yb: number, c: [number, number, number], a = 1, dashed = false): void => {
    const n = Math.max(1, Math.ceil(Math.hypot(xb - xa, yb - ya)));
    for (let i = 0; i <= n; i++) if (!dashed || i % 10 < 6) blend(xa + ((xb - xa) * i) / n, ya + ((yb - ya) * i) / n, c, a);
  };
  const grey: [number, number, number] = [180, 180, 180];
  line(M.left, H - M.bottom, W - M.right, H - M.bottom, grey);
  line(M.left, M.top, M.left, H - M.bottom, grey);
  spec.series.forEach((s, k) => {
    const c = rgb(s.color);
    // Band: vertical spans between low and high, interpolated along x.
    for (let i = 0; i + 1 < s.x.length; i++) {
      const xa = sx(s.x[i]!), xb = sx(s.x[i + 1]!);
      for (let px = Math.ceil(xa); px <= xb; px++) {
        const t = (px - xa) / Math.max(1e-9, xb - xa);
        const lo = sy(s.low[i]! + (s.low[i + 1]! - s.low[i]!) * t), hi = sy(s.high[i]! + (s.high[i + 1]! - s.high[i]!) * t);
        for (let py = Math.ceil(hi); py <= lo; py++) blend(px, py, c, 0.15);
      }
    }
    for (let i = 0; i + 1 < s.x.length; i++) for (const d of [-0.5, 0, 0.5]) line(sx(s.x[i]!), sy(s.mean[i]!) + d, sx(s.x[i + 1]!), sy(s.mean[i + 1]!) + d, c, 1, s.dashed);
    for (let y = 0; y < 10; y++) line(W - M.right + 14, M.top + k * 20 + y, W - M.right + 28, M.top + k * 20 + y, c);
  });
  return PNG.sync.write(png);
}

/** Write `base`.svg and `base`.png (unlabelled; `renderSvgToPng` replaces it with a labelled one); returns their paths. */
export function writePlot(base: string, spec: PlotSpec): string[] {
  writeFileSync(`${base}.svg`, plotSvg(spec));
  writeFileSync(`${base}.png`, plotPng(spec));
  return [`${base}.svg`, `${base}.png`];
}

/**
 * Render an SVG file to PNG with the system Chromium, so the PNG carries the SVG's labels;
 * false (the PNG left as it is) where no Chromium is installed.
 */
export async function renderSvgToPng(svgPath: string, pngPath: string): Promise<boolean> {
  const executablePath = process.env.PLAYWRIGHT_CHROMIUM ?? "/usr/bin/chromium";
  if (!existsSync(executablePath)) return false;
  const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage({ viewport: { width: W, height: H } });
    await page.setContent(`<body style="margin:0;background:#fff">${readFileSync(svgPath, "utf8")}</body>`);
    writeFileSync(pngPath, await page.locator("svg").first().screenshot());
    return true;
  } finally {
    await browser.close();
  }
}
