/**
 * TEST_CLOCK_FILE (tests only): the rules' clock read from a file holding an
 * ISO 8601 instant, once per event, so an end-to-end test can move a real
 * process across a day boundary without waiting. Never set in production.
 */
import { readFileSync } from 'node:fs';
import { parseInstant } from './instant.js';

/** A clock reading `file` at each call; an unreadable or unparsable file falls back to the system clock. */
export function testClock(file: string): () => Date {
  return () => {
    try {
      const r = parseInstant(readFileSync(file, 'utf8').trim());
      return r.ok ? new Date(r.ms) : new Date();
    } catch {
      return new Date();
    }
  };
}
