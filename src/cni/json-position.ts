/**
 * V8's JSON.parse messages on Node 20 often carry no position ("Unexpected token '}',
 * "…" is not valid JSON"), yet an operator fixing /etc/cni/net.d needs line and column.
 * This scanner re-reads text that JSON.parse rejected and reports where it breaks.
 */

export interface JsonErrorPosition {
  line: number;
  column: number;
  reason: string;
}

class ScanError extends Error {
  constructor(
    readonly offset: number,
    reason: string,
  ) {
    super(reason);
  }
}

/** Deep enough for any real config, shallow enough that hostile input cannot blow the stack. */
const MAX_DEPTH = 512;

export function locateJsonError(text: string): JsonErrorPosition | undefined {
  try {
    const scanner = new Scanner(text);
    scanner.document();
    return undefined;
  } catch (err) {
    if (!(err instanceof ScanError)) throw err;
    return { ...lineAndColumn(text, err.offset), reason: err.message };
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

class Scanner {
  private pos = 0;
  constructor(private readonly text: string) {}

  document(): void {
    this.value(0);
    this.whitespace();
    if (this.pos < this.text.length) this.fail('unexpected data after the JSON value');
  }

  private fail(reason: string): never {
    throw new ScanError(this.pos, reason);
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  private describe(ch: string | undefined): string {
    return ch === undefined ? 'end of input' : `character ${JSON.stringify(ch)}`;
  }

  private whitespace(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos] as string)) this.pos++;
  }

  private value(depth: number): void {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    this.whitespace();
    const ch = this.peek();
    if (ch === '{') return this.object(depth);
    if (ch === '[') return this.array(depth);
    if (ch === '"') return this.string();
    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) return this.number();
    for (const word of ['true', 'false', 'null']) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return;
      }
    }
    this.fail(`unexpected ${this.describe(ch)}, expected a value`);
  }

  private object(depth: number): void {
    this.pos++; // '{'
    this.whitespace();
    if (this.peek() === '}') {
      this.pos++;
      return;
    }
    for (;;) {
      this.whitespace();
      if (this.peek() !== '"') this.fail(`unexpected ${this.describe(this.peek())}, expected a property name`);
      this.string();
      this.whitespace();
      if (this.peek() !== ':') this.fail(`unexpected ${this.describe(this.peek())}, expected ':'`);
      this.pos++;
      this.value(depth + 1);
      this.whitespace();
      const ch = this.peek();
      this.pos++;
      if (ch === '}') return;
      if (ch !== ',') {
        this.pos--;
        this.fail(`unexpected ${this.describe(ch)}, expected ',' or '}'`);
      }
    }
  }

  private array(depth: number): void {
    this.pos++; // '['
    this.whitespace();
    if (this.peek() === ']') {
      this.pos++;
      return;
    }
    for (;;) {
      this.value(depth + 1);
      this.whitespace();
      const ch = this.peek();
      this.pos++;
      if (ch === ']') return;
      if (ch !== ',') {
        this.pos--;
        this.fail(`unexpected ${this.describe(ch)}, expected ',' or ']'`);
      }
    }
  }

  private string(): void {
    this.pos++; // opening quote
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) this.fail('unterminated string');
      if (ch === '"') {
        this.pos++;
        return;
      }
      if (ch < ' ') this.fail('control character in string');
      if (ch === '\\') {
        this.pos++;
        const esc = this.peek();
        if (esc === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.pos + 1, this.pos + 5))) this.fail('bad \\u escape');
          this.pos += 5;
          continue;
        }
        if (esc === undefined || !'"\\/bfnrt'.includes(esc)) this.fail('bad escape sequence');
      }
      this.pos++;
    }
  }

  private number(): void {
    const match = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.text.slice(this.pos));
    if (!match || match[0] === '-') this.fail('malformed number');
    this.pos += match[0].length;
  }
}
