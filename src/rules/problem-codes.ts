/**
 * Every code a rules-file problem can carry (`RuleProblem.code`), with what it
 * means. The type makes the compiler refuse a code not listed here, and
 * docs/rule-language.md's table is generated from this list (`npm run docs`),
 * so tools that read `validate --format json` can rely on it.
 */
export const PROBLEM_CODES = {
  read: 'The rules file cannot be read (missing, a directory, no permission).',
  'yaml-syntax': 'The YAML does not parse, or a key is written twice in one map (warnings: YAML that parses but is suspicious).',
  limits: 'A limit is passed: 16 MiB file, 100,000 rules, alias expansions, nesting deeper than 32.',
  schema: 'A value breaks the rules schema: not one of the allowed values, a bad pattern (rule name, instant), an action that is not a one-key map, an empty `do`.',
  'unknown-key': 'A key that is not allowed there (a typo of a rule field or of an action parameter).',
  'missing-key': 'A required key is absent (`name`, `on`, `do`, an action\'s required parameter).',
  'wrong-type': 'A value of the wrong type (a list where a map is expected, an empty value...).',
  version: 'The file\'s `version` is not one this release reads (write `version: 1`).',
  'unknown-event': '`on` names no loaded event (its `.proto` is not in `proto/`, or a typo).',
  'ambiguous-event': '`on` matches several events: write the full service name.',
  'unknown-action': 'An action name that is not registered.',
  'unknown-operator': 'A JSON Logic operator that the rules dialect does not have (a typo; `log` is not available).',
  'unknown-path': 'A `var` or `${event...}` path the event\'s message does not have.',
  'forbidden-segment': 'A path segment or key that would reach the object prototype (`__proto__`, `constructor`, `prototype`).',
  template: 'A `${...}` template that does not parse (unclosed, empty segment, neither `event.` nor `env.`).',
  'url-template': 'A `${event...}` in a URL parameter (`http` `url`) before the end of its origin: an event value must not choose the scheme, host or port.',
  'forbidden-env': 'A `${env.X}` of a credential of the app itself (AB_CLIENT_ID, AB_CLIENT_SECRET, REDIS_URL...): rules cannot read them.',
  'unset-env': 'A `${env.X}` without default whose variable is not set (an error at start-up with AGS credentials, a warning in `validate` without `--env-file`).',
  'duplicate-name': 'Two rules with the same name.',
  'duplicate-id': 'Two actions of one rule with the same `id`.',
  'action-key': 'Warning: a rule has several same-named actions without an `id`; their idempotency keys follow their order (give each an `id`).',
  fact: 'A `facts` entry the app cannot look up: an unknown AGS operation id, a parameter it does not take or a missing one, a condition reading a fact the rule does not declare.',
  'state-history': 'Warning: a `count` over `lifetime` or a `streak` starts when the rule is loaded (the events before are not in the record); seed it from AGS with `facts` where AGS has the history.',
  'for-each': 'A `forEach` that cannot fan out: not one `${event...}` reference to a repeated field of the event, an `as` that is not a name (or names a field of the event), `as`/`max` without `forEach`.',
  window: '`activeFrom` is not before `activeUntil`.',
  instant: 'An instant that does not exist (`2026-02-30`, `24:00`) or has no UTC offset (it would be read in the machine\'s time zone): `activeFrom`, `activeUntil`, literals of `before`/`after`/`within`.',
  'bad-regex': 'A literal pattern of `matches` that RE2 does not accept (invalid, or a backreference or lookaround), or a flag other than i, m, s, u.',
  logic: 'A JSON Logic condition or `$logic` value that is malformed or would decide the same for every event: an operation with more than one key, a `when` that is a scalar or quoted JSON (`when: no`, `when: \'{"var": ...}\'`), a boolean-looking string as a condition, a duration that does not parse, `../` outside an iterator.',
  'invalid-params':
    'A parameter the action would refuse on every event: a value known at load (a literal, `${env}` once the environment is known) that breaks the action\'s schema or its own checks; or a `${event...}` reading a field whose type can never fit (an error) or not always (a warning).',
  'inexact-number': 'An integer beyond 2^53-1: numbers are read as doubles and it would be rounded (write a smaller one).',
  'state-key': 'A `limit.key` and a cooldown `key` of one rule that differ (or a key on only one of them: the other counts per player), a key reading a message or list field, a constant key over 512 characters, or `fired` naming a rule whose firings are counted under another key than the player.',
  'state-window': 'A `limit`, `cooldown` or `count`/`streak`/`fired` window that does not parse (`per`, a duration), a time zone that is not an IANA name, a `resetAt` that is not HH:MM.',
  'state-operator': '`count`, `streak` or `fired` written with the wrong arguments (they take literal `[event or rule, window, timeZone?, resetAt?]`).',
  'unknown-rule': '`fired` names a rule the file does not have.',
  catalog: 'The `.proto` files cannot be loaded (`validate`: check `--proto` / `PROTO_DIR`).',
} as const satisfies Record<string, string>;

/** A problem code: a key of {@link PROBLEM_CODES}. */
export type ProblemCode = keyof typeof PROBLEM_CODES;
