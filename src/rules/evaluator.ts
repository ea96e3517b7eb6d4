/**
 * The one JSON Logic evaluator of the rules: a tree compiled once into
 * closures, run per event with a fresh {@link EvalState}. The same closures
 * answer the server, rule tests and `explain`: with a {@link Tracer} in the
 * state they also record what each node saw, so a trace can never disagree
 * with the answer. Every operation costs one unit of the state's budget and
 * every array walked by an iterator is bounded: a hostile event turns into an
 * {@link EvaluationLimitError} (the rule's outcome `error`), never a stall.
 */
import { EvaluationLimitError } from './errors.js';
import type { RuleState } from '../state/index.js';

/** Operations one evaluation (one rule's condition, or one `$logic` value, on one event) may take. */
export const MAX_OPERATIONS = 1_000_000;
/** Longest array an iterator (`map`, `filter`, `reduce`, `all`, `some`, `none`) walks. */
export const MAX_ARRAY_WALKED = 100_000;

/** The state of one evaluation. */
export interface EvalState {
  /** The clock of the time operators, epoch ms. */
  readonly nowMs: number;
  /** Operations spent so far. */
  ops: number;
  readonly maxOps: number;
  /** Enclosing iterator scopes, innermost last (`{"var": "../x"}` reads them). */
  readonly above: unknown[];
  /** Present when the evaluation is traced (`explain`). */
  readonly tracer: Tracer | undefined;
  /** The player's ledger for `count`/`streak`/`fired` (src/rules/state-operators.ts); undefined in a stateless evaluation. */
  readonly state: RuleState | undefined;
}

/** A compiled node: data in, value out. */
export type LogicNode = (data: unknown, st: EvalState) => unknown;

/** An operator whose arguments are evaluated first (json-logic-js's "depth-first" operators). */
export interface EagerOperator {
  readonly lazy?: false;
  readonly fn: (args: unknown[], data: unknown, st: EvalState) => unknown;
  /** A faster node for these arguments as written (e.g. `var` with a literal path), or undefined to use `fn`. Same answers. */
  readonly specialize?: (args: readonly unknown[]) => LogicNode | undefined;
}

/** An operator that evaluates its own arguments (`and`, `or`, `if`, iterators). */
export interface LazyOperator {
  readonly lazy: true;
  readonly fn: (args: readonly LogicNode[], data: unknown, st: EvalState) => unknown;
}

export type Operator = EagerOperator | LazyOperator;

/** One evaluated node of a traced evaluation. */
export interface TraceFrame {
  /** The expression as written. */
  readonly expr: unknown;
  /** The operator, for an operation. */
  readonly operator?: string;
  value?: unknown;
  /** The error text when this node threw. */
  error?: string;
  /** Sub-nodes in evaluation order (operands, or the branches taken). */
  readonly children: TraceFrame[];
}

/** Records the nodes of one evaluation (iterator bodies are not recorded: they run per element). */
export class Tracer {
  root: TraceFrame | undefined;
  readonly #stack: TraceFrame[] = [];
  #muted = 0;

  /** Runs `run` as the node `expr`, recording its value or error under the current node. */
  record(expr: unknown, operator: string | undefined, run: () => unknown): unknown {
    if (this.#muted > 0) return run();
    const frame: TraceFrame = { expr, ...(operator !== undefined ? { operator } : {}), children: [] };
    const parent = this.#stack[this.#stack.length - 1];
    if (parent) parent.children.push(frame);
    else this.root ??= frame;
    this.#stack.push(frame);
    try {
      const v = run();
      frame.value = v;
      return v;
    } catch (err) {
      frame.error = err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      this.#stack.pop();
    }
  }

  /** Runs `run` without recording (iterator bodies). */
  muted<T>(run: () => T): T {
    this.#muted++;
    try {
      return run();
    } finally {
      this.#muted--;
    }
  }
}

/** A new evaluation state. */
export function newState(nowMs: number, tracer?: Tracer, state?: RuleState, maxOps = MAX_OPERATIONS): EvalState {
  return { nowMs, ops: 0, maxOps, above: [], tracer, state };
}

/** Charges one operation. Throws {@link EvaluationLimitError} past the budget. */
export function charge(st: EvalState, n = 1): void {
  st.ops += n;
  if (st.ops > st.maxOps) throw new EvaluationLimitError('operations', st.maxOps);
}

/** Checks an array before an iterator walks it. Throws {@link EvaluationLimitError}. */
export function walkable(st: EvalState, items: readonly unknown[]): void {
  if (items.length > MAX_ARRAY_WALKED) throw new EvaluationLimitError('array', MAX_ARRAY_WALKED);
  charge(st, items.length);
}

/** Evaluates an iterator body on each element's scope, with the caller's data reachable as `../`. */
export function inScope<T>(data: unknown, st: EvalState, run: () => T): T {
  st.above.push(data);
  try {
    return st.tracer ? st.tracer.muted(run) : run();
  } finally {
    st.above.pop();
  }
}

/** JSON Logic truthiness (jsonlogic.com/truthy): an empty array is false, everything else as in JavaScript. */
export function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return Boolean(value);
}

/** `{op: args}` with exactly one key: a JSON Logic operation (as json-logic-js's `is_logic`). */
export function isOperation(node: unknown): node is Record<string, unknown> {
  return typeof node === 'object' && node !== null && !Array.isArray(node) && Object.keys(node).length === 1;
}

/** Thrown by {@link compileTree} for an operator the table does not have (validate reports it first). */
export class UnknownOperatorError extends Error {
  override readonly name = 'UnknownOperatorError';
  constructor(readonly operator: string) {
    super(`unknown JSON Logic operator "${operator}"`);
  }
}

function constant(value: unknown, expr: unknown = value): LogicNode {
  return (_data, st) => (st.tracer ? st.tracer.record(expr, undefined, () => value) : value);
}

/**
 * An eager operation: arguments evaluated in order, then the operator. Literal
 * arguments are passed as they are (no node call; a trace shows them as
 * written); one- and two-argument operations avoid the loop.
 */
function literalArg(a: unknown): boolean {
  return !Array.isArray(a) && !isOperation(a);
}

function eagerRun(fn: EagerOperator['fn'], raw: readonly unknown[], args: readonly LogicNode[]): LogicNode {
  const literal = raw.map(literalArg);
  if (raw.length === 1) {
    const [a] = args as [LogicNode];
    if (literal[0]) return (data, st) => fn([raw[0]], data, st);
    return (data, st) => fn([a(data, st)], data, st);
  }
  if (raw.length === 2) {
    const [a, b] = args as [LogicNode, LogicNode];
    if (literal[1] && !literal[0]) {
      const bv = raw[1];
      return (data, st) => fn([a(data, st), bv], data, st);
    }
    return (data, st) => fn([a(data, st), b(data, st)], data, st);
  }
  const n = args.length;
  return (data, st) => {
    const values = new Array<unknown>(n);
    for (let i = 0; i < n; i++) values[i] = literal[i] ? raw[i] : args[i]!(data, st);
    return fn(values, data, st);
  };
}

/**
 * Compiles a JSON Logic tree with an operator table, as json-logic-js reads
 * it: an array evaluates each element, a one-key map is an operation (its
 * argument list, or one argument), anything else is itself; `preserve` keeps
 * its argument as data. Throws {@link UnknownOperatorError}.
 */
export function compileTree(expr: unknown, operators: Readonly<Record<string, Operator>>): LogicNode {
  if (Array.isArray(expr)) {
    const items = expr.map((e) => compileTree(e, operators));
    if (!expr.some((e) => Array.isArray(e) || isOperation(e))) return constant(expr);
    return (data, st) => {
      const run = (): unknown => items.map((n) => n(data, st));
      return st.tracer ? st.tracer.record(expr, undefined, run) : run();
    };
  }
  if (!isOperation(expr)) return constant(expr);
  const op = Object.keys(expr)[0]!;
  const raw = expr[op];
  if (op === 'preserve') return constant(raw, expr);
  const def = Object.hasOwn(operators, op) ? operators[op] : undefined;
  if (!def) throw new UnknownOperatorError(op);
  const rawArgs: readonly unknown[] = Array.isArray(raw) ? raw : [raw];
  const args = rawArgs.map((a) => compileTree(a, operators));
  const fast = !def.lazy && def.specialize ? def.specialize(rawArgs) : undefined;
  if (!def.lazy && !fast && rawArgs.length === 2 && !literalArg(rawArgs[0])) {
    // the most common shape (a comparison of a value with a value or a literal), without the extra closure layer
    const fn = def.fn;
    const [a, b] = args as [LogicNode, LogicNode];
    const literal = literalArg(rawArgs[1]);
    const bv = rawArgs[1];
    return (data, st) => {
      if (++st.ops > st.maxOps) throw new EvaluationLimitError('operations', st.maxOps);
      if (st.tracer !== undefined) return st.tracer.record(expr, op, () => fn([a(data, st), literal ? bv : b(data, st)], data, st));
      return fn([a(data, st), literal ? bv : b(data, st)], data, st);
    };
  }
  let run: LogicNode;
  if (def.lazy) {
    const fn = def.fn;
    run = (data, st) => fn(args, data, st);
  } else if (fast) {
    run = fast;
  } else {
    run = eagerRun(def.fn, rawArgs, args);
  }
  return (data, st) => {
    if (++st.ops > st.maxOps) throw new EvaluationLimitError('operations', st.maxOps);
    return st.tracer !== undefined ? st.tracer.record(expr, op, () => run(data, st)) : run(data, st);
  };
}
