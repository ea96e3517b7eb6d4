/**
 * Issue 27: a misspelt word of the rule language gets "did you mean" before any
 * rule about combinations (`per: days, timeZone: Asia/Tokyo` is a typo of
 * `day`, not a time zone on a duration). Every enum-like field of a rule:
 * windows (`limit.per`, `count`/`fired` windows, `streak` per), durations
 * written with unit words (`cooldown`, `within`, `banUser.duration`), `mode`,
 * `onFailure`, time zones, action names, event names, action parameters
 * with an enum. The real compiler, the built-in actions, the fixture protos.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createDefaultRegistry } from '../../src/actions/index.js';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RulesCompileOptions } from '../../src/rules/validate.js';
import { parseWindow, WindowSpecError } from '../../src/state/index.js';
import { suggestDuration } from '../../src/time/index.js';
import { fixtureCatalog } from './support/fixtures.js';

let opts: RulesCompileOptions;
beforeAll(async () => {
  opts = { catalog: await fixtureCatalog(), registry: createDefaultRegistry(), env: {}, unsetEnv: 'warn' };
});

const GRANT = 'do: [ { grantItem: { itemId: x, userId: "${event.userId}" } } ]';

/** Each mistake as one rule's fields (YAML flow) -> the only problem's message, and its fix. */
const MISTAKES: Readonly<Record<string, readonly [string, RegExp, RegExp]>> = {
  'per-days-with-zone': [`limit: { count: 1, per: days, timeZone: Asia/Tokyo }\n    ${GRANT}`, /limit: "days" is not a window/, /^did you mean "day"\?/],
  'per-weeks': [`limit: { count: 1, per: weeks }\n    ${GRANT}`, /"weeks" is not a window/, /^did you mean "week"\?/],
  'per-lifetim': [`limit: { count: 1, per: lifetim }\n    ${GRANT}`, /"lifetim" is not a window/, /^did you mean "lifetime"\?/],
  'per-hours-word': [`limit: { count: 1, per: 24 hours, resetAt: "05:00" }\n    ${GRANT}`, /"24 hours" is not a window/, /^did you mean "24h"\?/],
  'count-within-word': [`when: { ">=": [ { count: { of: userLoggedIn, within: 24hours } }, 3 ] }\n    ${GRANT}`, /"24hours" is not a window/, /^did you mean "24h"\?/],
  'count-list-window': [`when: { ">=": [ { count: [ userLoggedIn, dya, Asia/Tokyo ] }, 3 ] }\n    ${GRANT}`, /"dya" is not a window/, /^did you mean "day"\?/],
  'fired-window': [`when: { ">=": [ { fired: { of: x, within: mnth } }, 1 ] }\n    ${GRANT}`, /"mnth" is not a window/, /^did you mean "month"\?/],
  'streak-per-days': [`when: { ">=": [ { streak: { of: userLoggedIn, per: days, timeZone: Asia/Tokyo } }, 3 ] }\n    ${GRANT}`, /streak counts consecutive days or weeks, not "days"/, /^did you mean "day"\?$/],
  'streak-list-weeks': [`when: { ">=": [ { streak: [ userLoggedIn, weeks ] }, 3 ] }\n    ${GRANT}`, /not "weeks"/, /^did you mean "week"\?$/],
  'cooldown-word': [`cooldown: 6hours\n    ${GRANT}`, /cooldown: "6hours" is not a duration/, /^did you mean "6h"\?/],
  'cooldown-key-word': [`cooldown: { duration: 90 mins }\n    ${GRANT}`, /cooldown: "90 mins" is not a duration/, /^did you mean "90m"\?/],
  'ban-duration-word': ['do: [ { banUser: { ban: CHAT_SEND, reason: HARASSMENT, duration: 24hours, userId: "${event.userId}" } } ]', /"24hours" is not a duration above zero/, /^did you mean "24h"\?/],
  mode: [`mode: shadw\n    ${GRANT}`, /mode must be one of live, shadow/, /^did you mean "shadow"\?$/],
  'on-failure': [`onFailure: retyr\n    ${GRANT}`, /onFailure must be one of deadLetter, retry/, /^did you mean "retry"\?$/],
  'time-zone': [`limit: { count: 1, per: day, timeZone: Asia/Tokio }\n    ${GRANT}`, /"Asia\/Tokio" is not an IANA time zone name/, /^did you mean "Asia\/Tokyo"/],
  'action-name': ['do: [ { grantItme: { itemId: x } } ]', /unknown action "grantItme"/, /^did you mean "grantItem"\?$/],
  'action-enum': ['do: [ { grantItem: { itemId: x, source: REWARDS, userId: "${event.userId}" } } ]', /grantItem.source must be one of/, /^did you mean "REWARD"\?$/],
  'log-level': ['do: [ { log: { level: inf, message: x } } ]', /log.level must be one of/, /^did you mean "info"\?$/],
};

describe('did you mean, before any rule about combinations', () => {
  it('each misspelt word gets exactly one problem, with "did you mean" and the word meant', () => {
    const lines = ['version: 1', 'rules:', '  - name: x', '    on: userLoggedIn', `    ${GRANT}`];
    for (const [name, [fields]] of Object.entries(MISTAKES)) lines.push(`  - name: ${name}`, '    on: userLoggedIn', `    ${fields}`);
    const r = compileRulesText(`${lines.join('\n')}\n`, 'rules.yaml', opts);
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    for (const [name, [, message, fix]] of Object.entries(MISTAKES)) {
      const mine = problems.filter((p) => p.rule === name);
      expect(mine.map((p) => p.message), name).toEqual([expect.stringMatching(message)]);
      expect(mine[0]!.fix, name).toMatch(fix);
    }
    expect(problems.filter((p) => p.rule === undefined || !(p.rule in MISTAKES))).toEqual([]);
  });

  it('the problem of `per: days, timeZone` is at per (line and column of the word), not at the time zone', () => {
    const text = 'version: 1\nrules:\n  - name: daily\n    on: userLoggedIn\n    limit: { count: 1, per: days, timeZone: Asia/Tokyo }\n    do: [ { log: { message: x } } ]\n';
    const r = compileRulesText(text, 'rules.yaml', opts);
    expect(r.ok ? [] : r.problems.map((p) => `${p.line}:${p.column} ${p.fix}`)).toEqual([expect.stringMatching(/^5:29 did you mean "day"\?/)]);
  });

  it('parseWindow and suggestDuration: the words and the unit words', () => {
    const fixOf = (spec: string, tz?: string): string => {
      try {
        parseWindow(spec, tz);
      } catch (err) {
        if (err instanceof WindowSpecError) return err.fix;
        throw err;
      }
      return 'parsed';
    };
    expect(fixOf('days', 'Asia/Tokyo')).toMatch(/^did you mean "day"\?/);
    expect(fixOf('fortnight')).toBe('write day, week, month, lifetime, or a duration such as 24h, 90m, P7D');
    expect(fixOf('24h', 'Asia/Tokyo')).toMatch(/remove the time zone/);
    expect(suggestDuration('24hours')).toBe('24h');
    expect(suggestDuration('1 day, 12 hours')).toBe('1d12h');
    expect(suggestDuration('1 day and 12 hours')).toBe('1d12h');
    expect(suggestDuration('30 secs')).toBe('30s');
    expect(suggestDuration('24h')).toBeUndefined();
    expect(suggestDuration('6 parsecs')).toBeUndefined();
    expect(suggestDuration('days')).toBeUndefined();
  });
});
