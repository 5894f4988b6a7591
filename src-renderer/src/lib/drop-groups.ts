// Files dropped together, grouped into datasets: a BFCL questions file travels with its answer
// file (BFCL_v4_x.json + BFCL_v4_x.answer.json), every other file is a dataset of its own.

/** One dataset to preview, with its answer file when one was dropped with it. */
export interface DropGroup<F extends { name: string } = File> {
  file: F;
  answers: F | null;
}

const ANSWERS = /\.answer\.jsonl?$/i;

/** A file name without its dataset extension(s): "gsm8k.jsonl.gz" → "gsm8k". */
export function stem(name: string): string {
  return name.replace(/\.(jsonl|json|ndjson|csv|parquet)(\.gz)?$/i, "");
}

/** Pair answer files with their questions by name (or, one of each, with each other); answers left over are `unpaired`. */
export function groupDrop<F extends { name: string }>(files: readonly F[]): { groups: DropGroup<F>[]; unpaired: F[] } {
  const answers = files.filter((f) => ANSWERS.test(f.name));
  const datasets = files.filter((f) => !ANSWERS.test(f.name));
  const left = new Set(answers);
  const groups = datasets.map((file) => {
    const match = answers.find((a) => left.has(a) && stem(a.name.replace(ANSWERS, ".json")) === stem(file.name)) ?? null;
    if (match) left.delete(match);
    return { file, answers: match };
  });
  // One dataset and one answer file with different names (a renamed download): still a pair.
  if (groups.length === 1 && groups[0]!.answers === null && left.size === 1) {
    groups[0]!.answers = [...left][0]!;
    left.clear();
  }
  return { groups, unpaired: [...left] };
}
