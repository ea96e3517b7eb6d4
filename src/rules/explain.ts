/**
 * Why a condition matched or not: runs the compiled condition (the very
 * closures the server runs) with a tracer, and shapes what each node saw into
 * a tree: sub-conditions of `and`/`or`/`!`/`if`, operand values of the
 * others. Branches the evaluation did not reach (short-circuit) are shown as
 * not evaluated. Used by `explain` through `RuleSet.evaluate({ trace: true })`.
 */
import { Tracer, truthy } from './evaluator.js';
import type { TraceFrame } from './evaluator.js';
import type { CompiledLogic } from './logic.js';
import type { ConditionTrace, OperandTrace } from './types.js';

export type { ConditionTrace, OperandTrace } from './types.js';

/** Operators whose operands are themselves conditions: traced recursively. */
const LOGICAL = new Set(['and', 'or', '!', '!!', 'not', 'if', '?:']);
/** Operators whose arguments after the first are evaluated per element: only the first is shown with a value. */
const ITERATORS = new Set(['map', 'filter', 'reduce', 'all', 'some', 'none', 'every']);
const EQUALITY = new Set(['==', '===', '!=', '!==']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `{op: args}` with exactly one key: a JSON Logic operation. */
function operationOf(node: unknown): { op: string; args: unknown[] } | undefined {
  if (!isObject(node)) return undefined;
  const keys = Object.keys(node);
  if (keys.length !== 1) return undefined;
  const op = keys[0]!;
  const raw = node[op];
  return { op, args: Array.isArray(raw) ? raw : [raw] };
}

function varLabel(args: unknown[]): string {
  const first: unknown = args[0];
  const path: unknown = Array.isArray(first) ? (first as unknown[])[0] : first;
  if (path === '' || path === null || path === undefined) return '(current value)';
  return typeof path === 'string' || typeof path === 'number' ? String(path) : (JSON.stringify(path) ?? '');
}

/** A short text for an expression: the var path, the literal, or `op(...)`. */
export function labelOf(expr: unknown): string {
  const op = operationOf(expr);
  if (!op) return JSON.stringify(expr) ?? 'undefined';
  if (op.op === 'var') return varLabel(op.args);
  return `${op.op}(${op.args.map((a) => labelOf(a)).join(', ')})`;
}

function isLiteral(expr: unknown): boolean {
  if (operationOf(expr)) return false;
  if (Array.isArray(expr)) return expr.every(isLiteral);
  if (isObject(expr)) return Object.values(expr).every(isLiteral);
  return true;
}

function valueFields(f: TraceFrame | undefined): { value?: unknown; error?: string } {
  if (!f) return {};
  return f.error !== undefined ? { error: f.error } : { value: f.value };
}

/** The frames of a node's arguments, by position: undefined for an argument the evaluation did not reach (or a literal operand: not traced). */
function argumentFrames(args: readonly unknown[], frame: TraceFrame): (TraceFrame | undefined)[] {
  let j = 0;
  return args.map((a) => {
    const c = frame.children[j];
    if (c && c.expr === a) {
      j++;
      return c;
    }
    return undefined;
  });
}

function skippedNode(expr: unknown): ConditionTrace {
  const op = operationOf(expr);
  return { operator: op && op.op !== 'var' ? op.op : 'value', passed: false, skipped: true, operands: [{ expr, label: labelOf(expr), literal: isLiteral(expr) }] };
}

/** Shapes one traced node (see {@link traceCondition}). */
export function conditionOf(frame: TraceFrame): ConditionTrace {
  const evaluated = valueFields(frame);
  const base = {
    ...('value' in evaluated ? { result: evaluated.value } : {}),
    passed: frame.error === undefined && truthy(frame.value),
    ...(frame.error !== undefined ? { error: frame.error } : {}),
  };
  const op = operationOf(frame.expr);
  if (!op || op.op === 'var' || op.op === 'preserve') {
    return { operator: 'value', ...base, operands: [{ expr: frame.expr, label: labelOf(frame.expr), literal: !op || op.op === 'preserve', ...evaluated }] };
  }
  const frames = argumentFrames(op.args, frame);
  if (LOGICAL.has(op.op)) {
    return { operator: op.op, ...base, children: op.args.map((a, i) => (frames[i] ? conditionOf(frames[i]) : skippedNode(a))) };
  }
  const operands = op.args.map((a, i): OperandTrace => {
    const o = { expr: a, label: labelOf(a), literal: isLiteral(a) };
    if (ITERATORS.has(op.op) && i > 0) return o;
    if (o.literal && !frames[i]) return { ...o, value: a };
    return { ...o, ...valueFields(frames[i]) };
  });
  return { operator: op.op, ...base, operands };
}

/**
 * Runs a compiled condition once with a tracer: the trace of what it saw.
 * The root's `passed`/`error` is the condition's answer on that data and clock.
 */
export function traceCondition(condition: CompiledLogic, data: unknown, nowMs: number): ConditionTrace {
  const tracer = new Tracer();
  try {
    condition(data, { nowMs, tracer });
  } catch {
    // recorded on the frames
  }
  if (!tracer.root) return { operator: 'value', passed: false, error: 'the condition was not evaluated' };
  return conditionOf(tracer.root);
}

function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function operandTextOf(o: OperandTrace, perElement: boolean): string {
  if (o.error !== undefined) return `${o.label} -> error: ${o.error}`;
  if (o.literal) return show(o.expr);
  if (!('value' in o)) return `${o.label} ${perElement ? '(per element)' : '(not evaluated)'}`;
  return `${o.label} = ${show(o.value)}`;
}

/** One line for a node (without its children). */
function lineOf(t: ConditionTrace): string {
  if (t.skipped) return `- not evaluated: ${t.operands?.[0]?.label ?? t.operator}`;
  const mark = t.passed ? '✓' : '✗';
  const perElement = ITERATORS.has(t.operator);
  const operandText = (o: OperandTrace): string => operandTextOf(o, perElement);
  const err = t.error !== undefined ? ` -> error: ${t.error}` : '';
  if (t.children) return `${mark} ${t.operator}${t.error === undefined ? ` -> ${show(t.result)}` : err}`;
  const ops = t.operands ?? [];
  if (t.operator === 'value') return `${mark} ${ops.map(operandText).join(', ')}${err}`;
  let body: string;
  const [a, b] = ops;
  if (EQUALITY.has(t.operator) && ops.length === 2 && a && b && (a.literal !== b.literal)) {
    const [seen, wanted] = a.literal ? [b, a] : [a, b];
    body = `${operandText(seen)}, expected ${t.operator.startsWith('!') ? 'not ' : ''}${show(wanted.expr)}`;
  } else {
    body = ops.map(operandText).join(', ');
  }
  const result = typeof t.result === 'boolean' || t.error !== undefined ? '' : ` -> ${show(t.result)}`;
  return `${mark} ${t.operator} : ${body}${result}${err}`;
}

/** Renders a trace as indented lines (`✗ == : namespace = "other", expected "mygame"`). */
export function renderConditionTrace(trace: ConditionTrace, indent = ''): string[] {
  const lines = [`${indent}${lineOf(trace)}`];
  for (const c of trace.children ?? []) lines.push(...renderConditionTrace(c, `${indent}  `));
  return lines;
}
