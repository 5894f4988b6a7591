import { mount } from "svelte";
import App from "./App.svelte";
import { runHeatmapBench } from "./lib/heatmap-bench";
import "./app.css";

const target = document.getElementById("app");
if (!target) throw new Error("index.html has no #app element");
if (new URLSearchParams(location.search).get("bench") === "heatmap") {
  const canvas = document.createElement("canvas");
  canvas.width = 900;
  canvas.height = 340;
  target.append(canvas);
  (window as unknown as { __heatmapBench: unknown }).__heatmapBench = runHeatmapBench(canvas);
} else {
  mount(App, { target });
}
