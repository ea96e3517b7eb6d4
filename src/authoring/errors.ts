/** Failures of the authoring tools (`test`, `explain`, `send`), one class per kind. */
import { agsEventFix } from '../rules/index.js';

/** An event name that the catalog does not know, or that names several events. */
export class UnknownEventError extends Error {
  override readonly name = 'UnknownEventError';
  constructor(
    /** The name as written. */
    readonly event: string,
    readonly reason: 'unknown' | 'ambiguous',
    /** Close names (unknown) or the events it could mean (ambiguous). */
    readonly candidates: readonly string[],
  ) {
    super(
      reason === 'ambiguous'
        ? `"${event}" names several events: ${candidates.join(', ')}; write the full service name`
        : `unknown event "${event}"${candidates.length > 0 ? `; did you mean ${candidates.slice(0, 3).map((c) => `"${c}"`).join(' or ')}?` : ''}${candidates.length === 0 && agsEventFix(event) ? `: ${agsEventFix(event)!}` : ' (samples --list shows every event)'}`,
    );
  }
}

/** Event data (`--data`, a test case's `data`) that cannot be read or does not fit the event message. */
export class EventDataError extends Error {
  override readonly name = 'EventDataError';
  constructor(
    /** Where the data came from (`file.json`, `stdin`, `case "x"`). */
    readonly source: string,
    readonly reason: string,
    /** Field path in the JSON (json names), when the value does not fit the message. */
    readonly path?: string,
    /** What the field accepts. */
    readonly expected?: string,
  ) {
    super(`${source}: ${reason}${path && !reason.includes(path) ? ` (at ${path})` : ''}${expected && !reason.includes(expected) ? ` (expected ${expected})` : ''}`);
  }
}

/** One thing wrong in a rule-test file. */
export interface RuleTestProblem {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  readonly message: string;
  /** How to fix it (one line), when known. */
  readonly fix?: string;
}

/** A rule-test file that cannot be run: every problem found. */
export class RuleTestFormatError extends Error {
  override readonly name = 'RuleTestFormatError';
  constructor(readonly problems: readonly RuleTestProblem[]) {
    super(problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`).join('\n'));
  }
}
