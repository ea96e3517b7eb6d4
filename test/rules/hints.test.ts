/** The newcomer hints: unquoted templates in flow style found exactly where YAML breaks on them, nowhere else. */
import { describe, expect, it } from 'vitest';
import { findFlowTemplates, reloadUnknownEventNote, topLevelFix } from '../../src/rules/hints.js';
import type { RuleProblem } from '../../src/rules/types.js';

describe('findFlowTemplates', () => {
  it('finds unquoted ${...} inside { } and [ ], with line, column and key, across lines', () => {
    const text = ['do:', '  - grantItem: { itemId: ${env.ITEM}, quantity: 1 }', '  - log: {', '      message: hi ${event.userId} }', '  - x: [a, ${env.B}]'].join('\n');
    expect(findFlowTemplates(text)).toEqual([
      { line: 2, column: 26, template: '${env.ITEM}', key: 'itemId' },
      { line: 4, column: 19, template: '${event.userId}' },
      { line: 5, column: 12, template: '${env.B}' },
    ]);
  });

  it('leaves alone block style, quoted values, comments and $${ outside flow collections', () => {
    const text = [
      'do:',
      '  - grantItem:',
      '      itemId: ${env.ITEM_ID_TO_GRANT}',
      '      userId: ${event.userId}',
      '  - grantItem: { itemId: "${env.ITEM}", note: \'it\'\'s ${x}\' }',
      '  # { itemId: ${env.COMMENTED} }',
      "  - log: { message: \"a } b ${event.userId}\" }",
      '    description: it\'s { fine',
    ].join('\n');
    expect(findFlowTemplates(text)).toEqual([]);
  });
});

describe('other hints', () => {
  it('a top-level list gets the version/rules fix', () => {
    expect(topLevelFix([{ name: 'r' }])).toContain('the file is a list of rules: start it with "version: 1" and "rules:"');
    expect(topLevelFix('text')).toContain('"version: 1" and "rules:"');
  });

  it('a rejected reload with an unknown event says a new .proto needs a restart', () => {
    const p = (code: RuleProblem['code']): RuleProblem => ({ file: 'rules.yaml', line: 4, column: 9, severity: 'error', code, message: 'm' });
    expect(reloadUnknownEventNote([p('unknown-key')])).toBeUndefined();
    expect(reloadUnknownEventNote([p('unknown-key'), p('unknown-event')])).toContain('an event whose .proto was added since is unknown to it until a restart');
  });
});
