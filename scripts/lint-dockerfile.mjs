#!/usr/bin/env node
// Lints a Dockerfile with dockerfile-utils (the engine of the VS Code Docker
// extension): syntax, unknown instructions, bad flags, duplicate stage names...
// and refuses what only BuildKit understands (RUN --mount, heredocs, COPY
// --link/--chmod, the syntax directive...): the image must also build with the
// classic builder of Debian's docker.io 20.10 and docker-compose 1.29.
// Prints each problem as file:line:col and exits 1 if there is any.
// Usage: node scripts/lint-dockerfile.mjs [Dockerfile...]   (default: ./Dockerfile)
import { readFileSync } from 'node:fs';
import { DockerfileParser } from 'dockerfile-ast';
import { validate, ValidationSeverity } from 'dockerfile-utils';

/** COPY/ADD flags the classic builder knows; every other flag (and any RUN flag) needs BuildKit. */
const CLASSIC_FLAGS = { COPY: new Set(['from', 'chown']), ADD: new Set(['chown']), FROM: new Set(['platform']) };
const BUILDKIT_ARGS = /\$\{?(BUILDPLATFORM|BUILDOS|BUILDARCH|BUILDVARIANT|TARGETPLATFORM|TARGETOS|TARGETARCH|TARGETVARIANT)\b/;

/** Problems of `text` that only BuildKit accepts: { line, column, message } (0-based). */
export function buildKitOnly(text) {
  const dockerfile = DockerfileParser.parse(text);
  const out = [];
  const rangeStart = (range) => ({ line: range.start.line, column: range.start.character });
  const at = (range, message) => out.push({ ...rangeStart(range), message: `${message}: needs BuildKit (the classic builder of docker.io 20.10 / docker-compose 1.29 refuses it)` });
  for (const d of dockerfile.getDirectives()) {
    if (['syntax', 'check'].includes(d.getName().toLowerCase())) {
      out.push({ ...rangeStart(d.getRange()), message: `parser directive "# ${d.getName()}=": BuildKit only (the classic builder ignores it); write plain Dockerfile syntax instead` });
    }
  }
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    const flags = typeof instruction.getFlags === 'function' ? instruction.getFlags() : [];
    for (const flag of flags) {
      const allowed = CLASSIC_FLAGS[keyword];
      if (!allowed || !allowed.has(flag.getName())) at(flag.getRange(), `${keyword} --${flag.getName()}`);
    }
    if (/^\s*<</.test(instruction.getArgumentsContent?.() ?? '') || instruction.getArguments().some((a) => a.getValue().startsWith('<<'))) {
      at(instruction.getRange(), `${keyword} with a heredoc`);
    }
    if (keyword === 'FROM' && BUILDKIT_ARGS.test(instruction.getTextContent())) at(instruction.getRange(), 'FROM with an automatic platform argument');
  }
  return out;
}

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
  const classic = buildKitOnly(text);
  for (const p of classic) console.error(`${file}:${p.line + 1}:${p.column + 1}: error: ${p.message}`);
  problems += diagnostics.length + classic.length;
}
if (problems > 0) {
  console.error(`${problems} Dockerfile problem${problems === 1 ? '' : 's'}`);
  process.exit(1);
}
console.log(`${files.join(', ')}: no problems`);
