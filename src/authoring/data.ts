/** Reading `--data file.json` or `--data -` (stdin) for `explain` and `send`. */
import { readFile } from 'node:fs/promises';
import { isInteger, isSafeNumber, parse as parseLossless } from 'lossless-json';
import { EventDataError } from './errors.js';

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** A JSON number's text -> a number, or a bigint for an integer a number would round (int64 beyond 2^53). */
export function exactNumber(text: string): number | bigint {
  return isInteger(text) && !isSafeNumber(text) ? BigInt(text) : Number(text);
}

/**
 * JSON.parse that loses no integer: integers beyond 2^53 read as bigint (the
 * codec accepts them for int64 fields exactly, 2^63-1 included, and as the
 * nearest double elsewhere); other numbers as numbers; `__proto__` keys as own
 * data. Duplicate keys with different values are refused. Throws SyntaxError.
 */
export function parseJsonExact(text: string): unknown {
  return parseLossless(text, null, exactNumber);
}

/**
 * The partial event data given with `--data`: a JSON object from a file, or
 * from stdin with `-`. Without `--data`: `{}` (the whole sample event).
 * Throws {@link EventDataError} (file missing, not JSON, not an object).
 */
export async function readEventData(spec: string | undefined, stdin: NodeJS.ReadableStream | undefined): Promise<Record<string, unknown>> {
  if (spec === undefined) return {};
  const source = spec === '-' ? 'stdin' : spec;
  let text: string;
  try {
    if (spec === '-') {
      if (!stdin) throw new EventDataError(source, 'no standard input to read');
      text = await readStream(stdin);
    } else {
      text = await readFile(spec, 'utf8');
    }
  } catch (err) {
    if (err instanceof EventDataError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new EventDataError(source, code === 'ENOENT' ? 'the file does not exist' : `cannot read it: ${code ?? String(err)}`);
  }
  let data: unknown;
  try {
    data = parseJsonExact(text);
  } catch (err) {
    throw new EventDataError(source, `not valid JSON: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new EventDataError(source, 'the event data must be a JSON object (the fields to set; the rest is filled from the sample event)');
  }
  return data as Record<string, unknown>;
}
