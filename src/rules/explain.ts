/**
 * Why a condition matched or not: walks a JSON Logic tree and evaluates every
 * sub-condition with the rules engine's own evaluator, keeping the operands'
 * values. Pure: the caller supplies the data and the evaluator (with its clock).
 * Used by `explain` (and available to any tool that wants the same answer).
 */

/** Evaluates a JSON Logic expression (the rules dialect) and tells its truthiness. */
export interface LogicEvaluator {
  /** Evaluates `logic` against `data`. May throw (an operator error). */
  run(logic: unknown, data: unknown): unknown;
  /** JSON Logic truthiness (an empty array is false). */
  truthy(value: unknown): boolean;
}

/** One operand of an operation, as written and as evaluated. */
export interface OperandTrace {
  /** The operand as written (`{"var": "namespace"}`, `"mygame"`). */
  readonly expr: unknown;
  /** Short text for the operand: `namespace` for a var, JSON for a literal, `<op>(...)` for a nested operation. */
  readonly label: string;
  /** Is the operand a constant (written value = evaluated value)? */
  readonly literal: boolean;
  /** The evaluated value (absent when evaluation failed or it is evaluated per element). */
  readonly value?: unknown;
  /** Evaluation error text. */
  readonly error?: string;
}

/** The trace of one node of the condition tree. */
export interface ConditionTrace {
  /** The operator (`==`, `and`, `startsWith`), or `value` for a bare value/var used as a condition. */
  readonly operator: string;
  /** The node's value. Absent when its evaluation threw (see `error`). */
  readonly result?: unknown;
  /** JSON Logic truthiness of the result (false on error). */
  readonly passed: boolean;
  /** Evaluation error text of this node. */
  readonly error?: string;
  /** For comparisons and other leaf operations: each operand with its value. */
  readonly operands?: readonly OperandTrace[];
  /** For `and`, `or`, `!`, `!!`, `if`/`?:`: the traced sub-conditions. */
  readonly children?: readonly ConditionTrace[];
}

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

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
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

function evaluate(evaluator: LogicEvaluator, logic: unknown, data: unknown): { value?: unknown; error?: string } {
  try {
    return { value: evaluator.run(logic, data) };
  } catch (err) {
    return { error: errorText(err) };
  }
}

function node(operator: string, evaluated: { value?: unknown; error?: string }, evaluator: LogicEvaluator, extra: Partial<ConditionTrace>): ConditionTrace {
  return {
    operator,
    ...('value' in evaluated ? { result: evaluated.value } : {}),
    passed: evaluated.error === undefined && evaluator.truthy(evaluated.value),
    ...(evaluated.error !== undefined ? { error: evaluated.error } : {}),
    ...extra,
  };
}

/**
 * Traces a JSON Logic condition on data: the result of every sub-condition of
 * `and`/`or`/`!`/`if`, and for comparisons and other operations the value of
 * each operand. Every branch is evaluated (no short-circuit), so the whole
 * picture is shown; each node's own result is the evaluator's for that node.
 */
export function explainCondition(logic: unknown, data: unknown, evaluator: LogicEvaluator): ConditionTrace {
  const whole = evaluate(evaluator, logic, data);
  const op = operationOf(logic);
  if (!op || op.op === 'var') {
    return node('value', whole, evaluator, { operands: [{ expr: logic, label: labelOf(logic), literal: !op, ...valueFields(whole) }] });
  }
  if (LOGICAL.has(op.op)) {
    return node(op.op, whole, evaluator, { children: op.args.map((a) => explainCondition(a, data, evaluator)) });
  }
  const operands = op.args.map((a, i): OperandTrace => {
    const base = { expr: a, label: labelOf(a), literal: isLiteral(a) };
    if (ITERATORS.has(op.op) && i > 0) return base;
    return { ...base, ...valueFields(evaluate(evaluator, a, data)) };
  });
  return node(op.op, whole, evaluator, { operands });
}

function valueFields(e: { value?: unknown; error?: string }): { value?: unknown; error?: string } {
  return e.error !== undefined ? { error: e.error } : { value: e.value };
}

function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function operandText(o: OperandTrace): string {
  if (o.error !== undefined) return `${o.label} -> error: ${o.error}`;
  if (o.literal) return show(o.expr);
  if (!('value' in o)) return `${o.label} (per element)`;
  return `${o.label} = ${show(o.value)}`;
}

/** One line for a node (without its children). */
function lineOf(t: ConditionTrace): string {
  const mark = t.passed ? '✓' : '✗';
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
