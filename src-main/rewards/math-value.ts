// The value of an answer as models write it in GSM8K / MATH style: plain numbers with thousands
// separators and currency, or LaTeX (\frac, \dfrac, \sqrt, mixed numbers, \times 10^{k},
// \text{units}, percent and degree signs). LaTeX is rewritten into a small arithmetic language and
// evaluated by a recursive-descent parser; nothing is ever passed to eval.

/** Rewrite LaTeX and answer decorations into plain arithmetic (numbers, + - * / ^, sqrt, parentheses). */
export function latexToArithmetic(text: string): string {
  let s = text.trim();
  // An equation's answer is its right-hand side ("x = 5").
  if (s.includes("=")) s = s.slice(s.lastIndexOf("=") + 1);
  s = s
    .replace(/\\(?:left|right|displaystyle|!|;|:|quad|qquad)/g, "")
    .replace(/\\(?:text|mathrm|textbf|mathbf|mbox|operatorname)\s*\{([^{}]*)\}/g, "$1")
    .replace(/\^\s*\{?\s*\\circ\s*\}?|°|\\%|%|\\\$|\$|[€£¥]|~/g, "")
    .replace(/\{,\}/g, "")
    .replace(/(\d)\\,(?=\d{3}\b)/g, "$1")
    .replace(/\\,|\\ /g, " ")
    .replace(/(\d),(?=\d{3}\b)/g, "$1")
    .replace(/\\[dt]frac/g, "\\frac")
    .replace(/\\(?:times|cdot)/g, "*")
    .replace(/\\div/g, "/");
  // \frac12 and \frac{a}{b}; a whole number right before a fraction makes a mixed number (1\frac{1}{2} = 1.5).
  s = s.replace(/\\frac\s*(\d)\s*(\d)/g, "\\frac{$1}{$2}");
  for (let guard = 0; guard < 20 && /\\frac|\\sqrt/.test(s); guard++) {
    s = s.replace(/(\d+)\s*\\frac\{([^{}]*)\}\{([^{}]*)\}/g, "($1+($2)/($3))");
    s = s.replace(/\\frac\{([^{}]*)\}\{([^{}]*)\}/g, "(($1)/($2))");
    s = s.replace(/\\sqrt\s*\[([^\]]*)\]\s*\{([^{}]*)\}/g, "(($2)^(1/($1)))");
    s = s.replace(/\\sqrt\s*\{([^{}]*)\}/g, "sqrt($1)");
    s = s.replace(/\\sqrt\s*(\d+(?:\.\d+)?)/g, "sqrt($1)");
  }
  return s.replace(/\^\s*\{([^{}]*)\}/g, "^($1)").replace(/[{}]/g, "").trim();
}

type Token = { kind: "num"; value: number } | { kind: "op"; op: string } | { kind: "fn"; name: "sqrt" };

/** Tokens of the arithmetic, up to the first character it does not know (trailing units, words). */
function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === " " || c === "\t") {
      i++;
      continue;
    }
    const num = /^\d+(?:\.\d+)?|^\.\d+/.exec(s.slice(i));
    if (num) {
      out.push({ kind: "num", value: Number(num[0]) });
      i += num[0].length;
    } else if ("+-*/^()".includes(c)) {
      out.push({ kind: "op", op: c });
      i++;
    } else if (s.startsWith("sqrt", i)) {
      out.push({ kind: "fn", name: "sqrt" });
      i += 4;
    } else break;
  }
  return out;
}

/** Evaluate tokens: sum := product (('+'|'-') product)*; product := unary (('*'|'/'|implicit) unary)*; unary := '-' unary | power; power := atom ('^' unary)?. */
function evaluate(tokens: Token[]): number | null {
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isOp = (op: string): boolean => peek()?.kind === "op" && (peek() as { op: string }).op === op;
  const atom = (): number | null => {
    const t = peek();
    if (!t) return null;
    if (t.kind === "num") {
      pos++;
      return t.value;
    }
    if (t.kind === "fn") {
      pos++;
      const v = atom();
      return v === null || v < 0 ? null : Math.sqrt(v);
    }
    if (t.op === "(") {
      pos++;
      const v = sum();
      if (!isOp(")")) return null;
      pos++;
      return v;
    }
    return null;
  };
  const power = (): number | null => {
    const base = atom();
    if (base === null) return null;
    if (!isOp("^")) return base;
    pos++;
    const exp = unary();
    return exp === null ? null : base ** exp;
  };
  const unary = (): number | null => {
    if (isOp("-")) {
      pos++;
      const v = unary();
      return v === null ? null : -v;
    }
    if (isOp("+")) pos++;
    return power();
  };
  const product = (): number | null => {
    let v = unary();
    while (v !== null) {
      const t = peek();
      if (t?.kind === "op" && (t.op === "*" || t.op === "/")) {
        pos++;
        const r = unary();
        if (r === null) return null;
        v = t.op === "*" ? v * r : r === 0 ? null : v / r;
      } else if (t && (t.kind === "fn" || (t.kind === "op" && t.op === "("))) {
        // Implicit multiplication: 2\sqrt{3}, 3(4).
        const r = unary();
        if (r === null) return null;
        v *= r;
      } else break;
    }
    return v;
  };
  const sum = (): number | null => {
    let v = product();
    while (v !== null && (isOp("+") || isOp("-"))) {
      const op = (peek() as { op: string }).op;
      pos++;
      const r = product();
      if (r === null) return null;
      v = op === "+" ? v + r : v - r;
    }
    return v;
  };
  const v = sum();
  return v !== null && Number.isFinite(v) ? v : null;
}

/** The numeric value of an answer, or null when it has none. */
export function mathValue(text: string): number | null {
  return evaluate(tokenize(latexToArithmetic(text)));
}
