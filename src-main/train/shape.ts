// Static shapes with symbolic dimensions: a dimension is a number or a name ("B", "T") that is
// fixed only when the graph runs. Rules treat two equal names as equal and a name as not 1.

export type Dim = number | string;
export type Shape = readonly Dim[];

/** A shape error that names the op and the shapes involved. */
export class ShapeError extends Error {
  override name = "ShapeError";
}

/** "[B, T, 64]". */
export function formatShape(s: Shape): string {
  return `[${s.join(", ")}]`;
}

/** Number of elements when every dimension is known, else null. */
export function staticSize(s: Shape): number | null {
  let n = 1;
  for (const d of s) {
    if (typeof d !== "number") return null;
    n *= d;
  }
  return n;
}

/** numpy broadcasting of two shapes; throws naming `op` and both shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else if (typeof x === "string" || typeof y === "string") out.push(typeof x === "number" ? x : y);
    else throw new ShapeError(`${op}: shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast (dimension ${i}: ${x} vs ${y})`);
  }
  return out;
}

/** Normalize a possibly negative axis for a tensor of `rank`; throws naming `op`. */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeError(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Whether two dimensions are known to be equal, or could be (a name against anything). */
export function dimsCompatible(a: Dim, b: Dim): boolean {
  return a === b || typeof a === "string" || typeof b === "string";
}
