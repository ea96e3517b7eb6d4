#!/usr/bin/env node
// Lints a Dockerfile with dockerfile-utils (the engine of the VS Code Docker
// extension): syntax, unknown instructions, bad flags, duplicate stage names...
// Prints each problem as file:line:col and exits 1 if there is any.
// Usage: node scripts/lint-dockerfile.mjs [Dockerfile...]   (default: ./Dockerfile)
import { readFileSync } from 'node:fs';
import { validate, ValidationSeverity } from 'dockerfile-utils';

const severities = { 1: 'error', 2: 'warning', 3: 'info', 4: 'hint' }; // LSP DiagnosticSeverity
const files = process.argv.length > 2 ? process.argv.slice(2) : ['Dockerfile'];
let problems = 0;
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    console.error(`${file}: cannot read: ${error.code ?? error}`);
    problems += 1;
    continue;
  }
  const diagnostics = validate(text, {
    // every check the validator has, as an error
    deprecatedMaintainer: ValidationSeverity.ERROR,
    directiveCasing: ValidationSeverity.ERROR,
    emptyContinuationLine: ValidationSeverity.ERROR,
    instructionCasing: ValidationSeverity.ERROR,
    instructionCmdMultiple: ValidationSeverity.ERROR,
    instructionEntrypointMultiple: ValidationSeverity.ERROR,
    instructionHealthcheckMultiple: ValidationSeverity.ERROR,
    instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
    instructionWorkdirRelative: ValidationSeverity.ERROR,
  });
  for (const d of diagnostics) {
    const { line, character } = d.range.start;
    console.error(`${file}:${line + 1}:${character + 1}: ${severities[d.severity] ?? 'problem'}: ${d.message}`);
  }
  problems += diagnostics.length;
}
if (problems > 0) {
  console.error(`${problems} Dockerfile problem${problems === 1 ? '' : 's'}`);
  process.exit(1);
}
console.log(`${files.join(', ')}: no problems`);
