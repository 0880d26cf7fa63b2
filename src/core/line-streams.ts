// Bounded line handling for wrap: the tail of a stream, a line splitter and the `::progress ` marker filter.
import { StringDecoder } from 'node:string_decoder';

/** Longest line kept in a tail; a longer line keeps its end, marked with a leading ellipsis. */
export const MAX_TAIL_LINE = 1000;

function keepEnd(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(text.length - max + 1)}`;
}

/** What a terminal would show of a line redrawn with carriage returns (progress bars): the last segment. */
function lastSegment(line: string): string {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  const cr = text.lastIndexOf('\r');
  return cr < 0 ? text : text.slice(cr + 1);
}

/** Keeps the last `maxLines` lines of a byte stream in memory bounded by maxLines × MAX_TAIL_LINE, whatever flows through. */
export class LineTail {
  private readonly decoder = new StringDecoder('utf8');
  private readonly ring: string[] = [];
  private partial = '';

  constructor(private readonly maxLines: number) {}

  push(chunk: Buffer): void {
    if (this.maxLines === 0) return;
    const text = this.partial + this.decoder.write(chunk);
    const end = text.lastIndexOf('\n');
    if (end < 0) {
      this.partial = keepEnd(text, MAX_TAIL_LINE * 2);
      return;
    }
    this.partial = keepEnd(text.slice(end + 1), MAX_TAIL_LINE * 2);
    // Only the last maxLines complete lines of this chunk can survive: find them from the end.
    let lineEnd = end;
    const found: string[] = [];
    while (found.length < this.maxLines) {
      const start = lineEnd === 0 ? -1 : text.lastIndexOf('\n', lineEnd - 1);
      found.push(text.slice(start + 1, lineEnd));
      if (start < 0) break;
      lineEnd = start;
    }
    for (let i = found.length - 1; i >= 0; i--) this.add(found[i]!);
  }

  private add(line: string): void {
    this.ring.push(keepEnd(lastSegment(line), MAX_TAIL_LINE));
    if (this.ring.length > this.maxLines) this.ring.shift();
  }

  /** The last lines, oldest first, including an unterminated last line. */
  lines(): string[] {
    const out = [...this.ring];
    const rest = this.partial + this.decoder.end();
    if (rest !== '') out.push(keepEnd(lastSegment(rest), MAX_TAIL_LINE));
    return out.slice(-this.maxLines);
  }
}

/**
 * Splits a byte stream into lines (without the newline) for a callback; a line longer than
 * maxLine is reported once as too long (`onLine(undefined)`) and its bytes are never held whole.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private overflow = false;

  constructor(
    private readonly maxLine: number,
    private readonly onLine: (line: string | undefined) => void,
  ) {}

  push(chunk: Buffer): void {
    this.feed(this.decoder.write(chunk));
  }

  end(): void {
    this.feed(this.decoder.end());
    if (this.overflow) this.onLine(undefined);
    else if (this.partial !== '') this.onLine(this.partial);
    this.partial = '';
    this.overflow = false;
  }

  private feed(text: string): void {
    let from = 0;
    for (;;) {
      const nl = text.indexOf('\n', from);
      if (nl < 0) break;
      const piece = text.slice(from, nl);
      if (this.overflow || this.partial.length + piece.length > this.maxLine) this.onLine(undefined);
      else this.onLine(this.partial + piece);
      this.partial = '';
      this.overflow = false;
      from = nl + 1;
    }
    if (from < text.length && !this.overflow) {
      this.partial += text.slice(from);
      if (this.partial.length > this.maxLine) [this.partial, this.overflow] = ['', true];
    }
  }
}

const MARKER = Buffer.from('::progress ');

/**
 * Passes a stream through unchanged except for lines that start with `::progress `, which go to
 * `onMarker` (without the prefix) and are not echoed. Only the few bytes that could still become
 * a marker are held back, so ordinary output is never delayed waiting for a newline.
 */
export class MarkerFilter {
  /** Bytes at the start of the current line that match a prefix of the marker so far. */
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private mode: 'start' | 'pass' | 'marker' = 'start';
  private readonly splitter: LineSplitter;

  constructor(
    private readonly write: (chunk: Buffer) => void,
    onMarker: (line: string | undefined) => void,
    maxLine: number,
  ) {
    this.splitter = new LineSplitter(maxLine, onMarker);
  }

  push(chunk: Buffer): void {
    let i = 0;
    let passFrom = -1;
    const emit = (to: number) => {
      if (passFrom >= 0 && to > passFrom) this.write(chunk.subarray(passFrom, to));
      passFrom = -1;
    };
    while (i < chunk.length) {
      if (this.mode === 'pass') {
        if (passFrom < 0) passFrom = i;
        const nl = chunk.indexOf(10, i);
        if (nl < 0) return emit(chunk.length);
        i = nl + 1;
        this.mode = 'start';
      } else if (this.mode === 'marker') {
        const nl = chunk.indexOf(10, i);
        this.splitter.push(chunk.subarray(i, nl < 0 ? chunk.length : nl + 1));
        if (nl < 0) return;
        i = nl + 1;
        this.mode = 'start';
      } else {
        // At a line start: compare with the marker byte by byte, holding back only a matching prefix.
        const at = this.pendingLength;
        if (chunk[i] === MARKER[at]) {
          emit(i);
          this.pending.push(chunk.subarray(i, i + 1));
          this.pendingLength++;
          i++;
          if (this.pendingLength === MARKER.length) [this.pending, this.pendingLength, this.mode] = [[], 0, 'marker'];
        } else {
          if (this.pendingLength > 0) this.releasePending();
          this.mode = 'pass';
        }
      }
    }
    emit(chunk.length);
  }

  /** Call at the end of the stream: a last marker line without a newline still counts. */
  end(): void {
    if (this.mode === 'marker') this.splitter.end();
    else if (this.pendingLength > 0) this.releasePending();
    this.mode = 'start';
  }

  private releasePending(): void {
    this.write(Buffer.concat(this.pending));
    [this.pending, this.pendingLength] = [[], 0];
  }
}
