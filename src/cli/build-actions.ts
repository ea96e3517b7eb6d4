/**
 * `extend-event-rules build-actions`: compiles the custom actions of ACTIONS_DIR
 * written in TypeScript into `dist/custom-actions/` (same relative paths, `.js`),
 * where the server and every command load them (`src/actions/custom.ts`).
 * `npm run build` runs it after the main build: the actions import
 * 'extend-event-rules', which resolves to `dist/index.js` / `dist/index.d.ts`
 * through package.json `exports`. Type errors: exit 1 with file:line:col, and
 * nothing compiled. No `.ts` module: nothing to do (exit 0). Needs the
 * `typescript` dev dependency.
 */
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join, relative } from 'node:path';
import { COMPILED_ACTIONS_DIR, PACKAGE_ROOT, listActionModules } from '../actions/index.js';
import type TypeScript from 'typescript';
import type { CommandIO } from './io.js';
import { UsageError } from './io.js';

export const BUILD_ACTIONS_USAGE = 'usage: extend-event-rules build-actions   compile the .ts modules of ACTIONS_DIR (npm run build runs it)\n';

/** The command (see the module's comment): resolves with the exit code; throws {@link UsageError} on an argument it does not take. */
export function buildActionsCommand(args: string[], io: CommandIO, options: { actionsDir: string; outDir?: string }): Promise<number> {
  return Promise.resolve(buildActions(args, io, options));
}

function buildActions(args: string[], io: CommandIO, options: { actionsDir: string; outDir?: string }): number {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(BUILD_ACTIONS_USAGE);
    return 0;
  }
  if (args.length > 0) throw new UsageError(`unexpected argument ${args[0]}`);
  const outDir = options.outDir ?? COMPILED_ACTIONS_DIR;
  const shownDir = relative(process.cwd(), options.actionsDir) || '.';
  rmSync(outDir, { recursive: true, force: true });
  const files = listActionModules(options.actionsDir).filter((f) => extname(f) === '.ts');
  if (files.length === 0) return 0;

  let ts: typeof TypeScript;
  try {
    // required, not imported: an ESM import of this 9 MB CommonJS module first scans it for its export
    // names (cjs-module-lexer), about a quarter of the command's CPU
    ts = createRequire(import.meta.url)('typescript') as typeof TypeScript;
  } catch {
    io.stderr.write(`extend-event-rules build-actions: ${files.length} TypeScript action module(s) in ${shownDir} need the typescript package: run npm ci (with dev dependencies)\n`);
    return 1;
  }
  const config = ts.readConfigFile(join(PACKAGE_ROOT, 'tsconfig.json'), (f) => ts.sys.readFile(f));
  const { options: compilerOptions } = ts.parseJsonConfigFileContent(config.error ? {} : config.config, ts.sys, PACKAGE_ROOT);
  // 'extend-event-rules' resolves to the built package (dist/), not to src/ through
  // the editor's `paths` mapping: only the actions are compiled here.
  delete compilerOptions.paths;
  Object.assign(compilerOptions, { rootDir: options.actionsDir, outDir, noEmit: false, declaration: false, sourceMap: true, incremental: false });
  delete compilerOptions.tsBuildInfoFile;

  const program = ts.createProgram(files, compilerOptions);
  const emitted = program.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
  if (diagnostics.length > 0) {
    io.stderr.write(ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\n' }));
    io.stderr.write(`extend-event-rules build-actions: ${diagnostics.length} problem(s) in the custom actions of ${shownDir}; fix them and run npm run build again\n`);
    rmSync(outDir, { recursive: true, force: true });
    return 1;
  }
  io.stdout.write(`custom actions: compiled ${files.length} module(s) of ${shownDir} into ${relative(process.cwd(), outDir)}\n`);
  return 0;
}
