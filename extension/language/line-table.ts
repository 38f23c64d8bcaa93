/**
 * Where each line of a document starts (UTF-16 offsets, one Uint32Array entry a line), so any line's text and LSP
 * range come without splitting the document. Lines are separated by '\n'; a '\r' before it is not part of the line.
 */

import type { Range } from 'vscode-languageserver';

/** The lines of a trace document, wherever its text is (the editor's text, or the file on disk). */
export interface TraceLines {
  readonly count: number;
  /** The text of a line, without its line break. */
  lineText(line: number): string;
  /** The whole line as an LSP range. */
  range(line: number): Range;
  /** Lets go of what the lines are read from (a file). */
  close?(): void;
}

export class LineTable implements TraceLines {
  readonly count: number;
  private readonly starts: Uint32Array<ArrayBuffer>;

  constructor(readonly text: string) {
    let starts = new Uint32Array(1024);
    let count = 1;
    for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) {
      if (count === starts.length) {
        const grown = new Uint32Array(starts.length * 2);
        grown.set(starts);
        starts = grown;
      }
      starts[count++] = at + 1;
    }
    this.starts = starts;
    this.count = count;
  }

  start(line: number): number {
    return this.starts[line];
  }

  /** Offset of the line's '\n' (or the end of the text), '\r' included in the line. */
  end(line: number): number {
    return line + 1 < this.count ? this.starts[line + 1] - 1 : this.text.length;
  }

  /** The text of a line, without its line break. */
  lineText(line: number): string {
    if (line < 0 || line >= this.count) return '';
    const start = this.starts[line];
    let end = this.end(line);
    if (end > start && this.text.charCodeAt(end - 1) === 13) end--;
    return this.text.slice(start, end);
  }

  /** The whole line as an LSP range. */
  range(line: number): Range {
    return { start: { line, character: 0 }, end: { line, character: this.lineText(line).length } };
  }
}
