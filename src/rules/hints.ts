/**
 * Hints for the mistakes a newcomer makes first, in place of the generic
 * messages: an unquoted `${...}` inside a flow collection (`{ itemId: ${env.X} }`,
 * where `{` and `}` are YAML syntax: the YAML reader reports a cascade of
 * errors), a file that is a bare list of rules (the README's first example
 * pasted as is: it lacks `version: 1` and `rules:`), and an event whose .proto
 * is not loaded (at validate, and where a running server's reload rejects it).
 */
import type { RuleProblem } from './types.js';
import { agsEventFiles } from './ags-event-files.js';

/** An unquoted `${...}` inside a flow collection: where, the template text, and the key before it (if any). */
export interface FlowTemplate {
  readonly line: number;
  readonly column: number;
  readonly template: string;
  readonly key?: string;
}

/**
 * Finds every `${...}` outside quotes inside a flow collection (`{...}` or `[...]`),
 * scanning the text once (quotes, comments and nesting followed; a `{` inside a
 * block-style plain scalar is not a flow collection).
 */
export function findFlowTemplates(text: string): FlowTemplate[] {
  const found: FlowTemplate[] = [];
  let depth = 0;
  let quote: '"' | "'" | undefined;
  let line = 1;
  let lineStart = 0;
  let lastSignificant = '\n'; // the last non-space character outside quotes
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      lineStart = i + 1;
      lastSignificant = '\n';
      continue;
    }
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) {
        if (quote === "'" && text[i + 1] === "'") i++;
        else quote = undefined;
      }
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') continue;
    if (c === '#' && (i === lineStart || /\s/.test(text[i - 1]!))) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
      continue;
    }
    const startsValue = ':-[{,?\n'.includes(lastSignificant);
    if ((c === '"' || c === "'") && startsValue) {
      quote = c;
      lastSignificant = c;
      continue;
    }
    if (c === '$' && text[i + 1] === '{' && depth > 0) {
      const end = text.indexOf('}', i);
      const template = end < 0 ? text.slice(i, text.indexOf('\n', i) < 0 ? undefined : text.indexOf('\n', i)) : text.slice(i, end + 1);
      const before = text.slice(lineStart, i);
      const key = /([A-Za-z0-9_$.-]+)\s*:\s*$/.exec(before)?.[1];
      found.push({ line, column: i - lineStart + 1, template, ...(key ? { key } : {}) });
      if (end >= 0 && !text.slice(i, end).includes('\n')) i = end;
      lastSignificant = '}';
      continue;
    }
    if ((c === '{' || c === '[') && startsValue) depth++;
    else if ((c === '}' || c === ']') && depth > 0) depth--;
    lastSignificant = c;
  }
  return found;
}

/**
 * When the YAML reader failed and the text has unquoted `${...}` in flow
 * collections: one problem per such template (with the fix: quote it) instead
 * of the reader's errors on those lines. Other problems are kept.
 */
export function explainYamlProblems(file: string, text: string, problems: readonly RuleProblem[]): RuleProblem[] {
  if (!problems.some((p) => p.code === 'yaml-syntax')) return [...problems];
  const templates = findFlowTemplates(text);
  if (templates.length === 0) return [...problems];
  const lines = new Set(templates.map((t) => t.line));
  const kept = problems.filter((p) => p.code !== 'yaml-syntax' || !lines.has(p.line));
  const hints: RuleProblem[] = templates.map((t) => ({
    file,
    line: t.line,
    column: t.column,
    severity: 'error',
    code: 'yaml-syntax',
    message: `unquoted ${t.template} inside { } or [ ]: there YAML reads { and } as its own syntax`,
    fix: `quote it: ${t.key ? `${t.key}: ` : ''}"${t.template}" (or write the map in block style, one key per line)`,
  }));
  return [...hints, ...kept].sort((a, b) => a.line - b.line || a.column - b.column);
}

/** The fix for a file whose top level is not a map: for a list, wrap it as `version: 1` + `rules:`. */
export function topLevelFix(data: unknown): string | undefined {
  if (Array.isArray(data)) {
    return 'the file is a list of rules: start it with "version: 1" and "rules:", then the list indented under rules: (see the shipped rules.yaml)';
  }
  return 'the file starts with "version: 1" and "rules:", a list of rules (see the shipped rules.yaml)';
}

/**
 * The fix of a value of the wrong type, from the field's schema: a whole
 * number (with its range), a map (with its keys), or text; the field's
 * description follows (it names the forms, e.g. `6h, 90m, PT6H`).
 */
export function wrongTypeFix(type: unknown, schema: unknown): string {
  const s = (typeof schema === 'object' && schema !== null ? schema : {}) as { minimum?: number; maximum?: number; properties?: object; required?: string[]; description?: string };
  const about = s.description ? `; ${s.description.split(/(?<=\.)\s/)[0]!.replace(/\.$/, '')}` : '';
  if (type === 'integer') return `write a whole number${s.minimum !== undefined && s.maximum !== undefined ? ` from ${s.minimum} to ${s.maximum}` : ''}${about}`;
  if (type === 'object' && s.properties) {
    const keys = Object.keys(s.properties);
    const required = s.required ?? [];
    return `write a map of ${required.length > 0 ? required.join(', ') : keys.join(', ')}${required.length > 0 && keys.length > required.length ? ` (optional: ${keys.filter((k) => !required.includes(k)).join(', ')})` : ''}${about}`;
  }
  if (type === 'string') return `write text${about}`;
  return `write a value of type ${String(type)}${about}`;
}

/** Names of the Task Scheduler's handler a rule's `on` may be written with. */
const SCHEDULER_NAMES = /^(\/?accelbyte\.extend\.task_scheduler\.v1\.)?(ScheduledTaskHandler|scheduledTaskRequest|RunScheduledTask)(\/RunScheduledTask)?$/;

/**
 * The fix of an `on` naming the Task Scheduler's handler
 * (`ScheduledTaskHandler/RunScheduledTask`): not an event but a Service
 * Extension feature, served per task by `on: { schedule: TASK_NAME }`; an
 * Event Handler reacts to time through a topic a scheduled task publishes to.
 * Undefined for other names.
 */
export function scheduledTaskFix(name: string): string | undefined {
  if (!SCHEDULER_NAMES.test(name)) return undefined;
  return (
    'ScheduledTaskHandler/RunScheduledTask is called by the Extend Task Scheduler, a Service Extension feature (not an Event Handler event): ' +
    'deployed as a Service Extension app, write on: { schedule: TASK_NAME } (the task_name of the scheduled task); ' +
    'in an Event Handler app, let a Service Extension\'s scheduled task publish to a topic and write on: { topic: NAME } (docs/custom-events.md)'
  );
}

/**
 * For an AGS event whose .proto is not loaded (`userAccountCreated`): which file of accelbyte-api-proto
 * defines it and where it goes. Undefined for a name that is not an AGS event.
 */
export function agsEventFix(name: string): string | undefined {
  const files = agsEventFiles(name);
  if (files.length === 0) return undefined;
  const [file] = files as [string];
  return (
    `"${name}" is an AGS event of asyncapi/${file}${files.length > 1 ? ` (and ${files.length - 1} other file${files.length > 2 ? 's' : ''}: write the full service name)` : ''} ` +
    `in https://github.com/AccelByte/accelbyte-api-proto: download it to proto/${file} (PROTO_DIR), then restart the server (it loads protos at start-up)`
  );
}

/** The fix of an unknown event without a close name: where the loaded events are listed, and how to add one (for the Task Scheduler's handler: {@link scheduledTaskFix}). */
export function unknownEventFix(name = ''): string {
  const scheduled = scheduledTaskFix(name);
  if (scheduled) return scheduled;
  const ags = agsEventFix(name);
  if (ags) return ags;
  return (
    'run "extend-event-rules samples --list" for the loaded events; for another AGS event, download its .proto from ' +
    'https://github.com/AccelByte/accelbyte-api-proto (asyncapi/accelbyte/...) into proto/ (PROTO_DIR), keeping its folder path, ' +
    'and restart the server (it loads protos at start-up)'
  );
}

/**
 * Why a running server's reload may reject rules that `validate` accepts: the
 * server loaded PROTO_DIR at start-up, `validate` reads it afresh. Undefined
 * when no problem is an unknown event.
 */
export function reloadUnknownEventNote(problems: readonly RuleProblem[]): string | undefined {
  if (!problems.some((p) => p.code === 'unknown-event')) return undefined;
  return 'the running server loaded the .proto files of PROTO_DIR at start-up: an event whose .proto was added since is unknown to it until a restart (validate reads proto/ afresh and may say valid)';
}
