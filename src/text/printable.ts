/** Hostile text made safe for one line of a terminal. */

// C0 controls (newlines included), DEL, C1 controls (0x9b is a one-byte CSI), and the bidirectional
// overrides and isolates that reorder what a terminal shows
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const SHORT: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `text` with every control character (C0, DEL, C1, line and paragraph separators) and bidirectional
 * override escaped as `\n`, `\r`, `\t` or `\uXXXX`: text from an event or an AGS answer printed in a
 * line of output stays on that line and cannot move the cursor, recolour or rewrite the terminal.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
