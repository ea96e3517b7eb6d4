/**
 * Load-time checks of conditions that JSON Logic itself would accept and then
 * answer wrongly on every event: a `when` that is a scalar (`when: no`,
 * `when: "false"`, a condition pasted in quotes) or a boolean-looking string
 * where a condition is expected, instant literals that do not exist or carry
 * no offset, durations that do not parse, and `../` outside an iterator.
 * Each check returns the problems it finds; validate.ts places them.
 */
import { parseInstant } from '../time/index.js';
import { parseDuration } from './operators.js';
import type { ProblemCode } from './problem-codes.js';

/** One problem found in a condition, relative to the node checked. */
export interface ConditionProblem {
  readonly code: ProblemCode;
  readonly message: string;
  readonly fix: string;
  /** Below the node checked: the argument index (absent: the node itself). */
  readonly arg?: number;
}

const BOOLEAN_WORDS = new Set(['true', 'false', 'yes', 'no', 'on', 'off', 'y', 'n', '0', '1', 'null', '']);

function looksLikeJson(text: string): boolean {
  const t = text.trim();
  if (!((t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']')))) return false;
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

/**
 * A value written where a condition is expected that is not an operation:
 * for the whole `when` any scalar or list (it would match every event, or
 * none, whatever the event); under `and`/`or`/`!`/`if` a string that reads as
 * a boolean, a number or JSON (a non-empty string is true).
 */
export function notACondition(value: unknown, whole: boolean): Omit<ConditionProblem, 'arg'> | undefined {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return undefined;
  const shown = JSON.stringify(value) ?? String(value);
  if (typeof value === 'string' && looksLikeJson(value)) {
    return { code: 'logic', message: `the condition ${shown} is a string (quoted JSON), so it is always true`, fix: `remove the quotes: ${value.trim()}` };
  }
  if (typeof value === 'string' && BOOLEAN_WORDS.has(value.trim().toLowerCase())) {
    return {
      code: 'logic',
      message: `the condition ${shown} is a string, and every non-empty string is true`,
      fix: whole ? 'to turn the rule off write "enabled: false"; to match every event remove "when"; a condition is a map such as {"==": [{"var": "namespace"}, "mygame"]}' : `write the boolean ${/^(true|yes|on|y|1)$/i.test(value.trim()) ? 'true' : 'false'} unquoted, or a condition map`,
    };
  }
  if (!whole) return undefined;
  if (Array.isArray(value)) return { code: 'logic', message: 'the condition is a list, not one condition', fix: 'combine conditions with {"and": [...]} or {"or": [...]}' };
  return {
    code: 'logic',
    message: `the condition is the ${value === null ? 'empty value' : `${typeof value} ${shown}`}, not a JSON Logic condition: it would decide the same for every event`,
    fix: 'to turn the rule off write "enabled: false"; to match every event remove "when"; a condition is a map such as {"==": [{"var": "namespace"}, "mygame"]}',
  };
}

/** Operators whose arguments are conditions (by position: all, or the `if` tests). */
export function conditionArguments(op: string, count: number): number[] {
  if (op === 'and' || op === 'or' || op === '!' || op === '!!' || op === 'not') return [...Array(count).keys()];
  if (op === 'if' || op === '?:') return [...Array(count).keys()].filter((i) => i % 2 === 0 && i < count - 1);
  return [];
}

/** Literal instants and durations of the time operators: they must exist and carry an offset. */
export function timeLiteralProblems(op: string, args: readonly unknown[]): ConditionProblem[] {
  const instants = op === 'before' || op === 'after' ? [0, 1] : op === 'within' ? [0] : [];
  const durations = op === 'within' ? [1] : op === 'duration' ? [0] : [];
  const out: ConditionProblem[] = [];
  for (const i of instants) {
    const v = args[i];
    if (typeof v !== 'string' || /^-?\d+$/.test(v)) continue;
    const r = parseInstant(v);
    if (!r.ok) out.push({ code: 'instant', message: `${op}: ${r.reason}`, fix: r.fix, arg: i });
  }
  for (const i of durations) {
    const v = args[i];
    if (typeof v !== 'string' && typeof v !== 'number') continue;
    try {
      parseDuration(v, op);
    } catch (err) {
      out.push({ code: 'logic', message: (err as Error).message, fix: 'write e.g. "PT24H", "24h", "1d12h" or "90m"', arg: i });
    }
  }
  return out;
}

/** `{"var": "../x"}` reads an enclosing iterator's element; outside `map`/`filter`/`some`... there is none. */
export function climbOutsideIterator(path: string): Omit<ConditionProblem, 'arg'> | undefined {
  if (!path.startsWith('../')) return undefined;
  return { code: 'logic', message: `var "${path}": "../" reads the data around an iterator (map, filter, some...), and this var is not inside one`, fix: `write {"var": "${path.replace(/^(\.\.\/)+/, '')}"}` };
}
