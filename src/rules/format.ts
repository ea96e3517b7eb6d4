/** Printing rule problems for people (text), tools (json) and GitHub Actions (github annotations). */
import type { RuleProblem } from './types.js';

export type ProblemFormat = 'text' | 'json' | 'github';

function ghData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function ghProperty(s: string): string {
  return ghData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** One problem per line (text: plus an indented fix line); json: an array. Ends with a newline unless empty. */
export function formatProblems(problems: readonly RuleProblem[], format: ProblemFormat): string {
  if (format === 'json') return `${JSON.stringify(problems, null, 2)}\n`;
  if (problems.length === 0) return '';
  const lines: string[] = [];
  for (const p of problems) {
    const rule = p.rule !== undefined ? ` rule "${p.rule}":` : '';
    if (format === 'github') {
      const level = p.severity === 'error' ? 'error' : 'warning';
      const message = `${p.message}${p.fix ? ` (${p.fix})` : ''}`;
      lines.push(`::${level} file=${ghProperty(p.file)},line=${p.line},col=${p.column},title=${ghProperty(`rules: ${p.code}`)}::${ghData(`${rule ? `${rule.trim()} ` : ''}${message}`)}`);
    } else {
      lines.push(`${p.file}:${p.line}:${p.column}: ${p.severity} [${p.code}]${rule} ${p.message}`);
      if (p.fix) lines.push(`    fix: ${p.fix}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
