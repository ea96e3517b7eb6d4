/**
 * Runs the stages of the project's Dockerfile without Docker, so a test can
 * check what the image would hold: the build context is the repository minus
 * `.dockerignore`, every stage gets its own directory standing for `/`, COPY
 * copies exactly what it names (from the context or from an earlier stage:
 * see {@link linkTree}),
 * WORKDIR and ENV apply, and RUN executes its command with `sh -c` in the
 * stage's working directory. RUN steps that need root inside the image (apt-get,
 * chown) cannot run here: they are skipped and listed, so a test can pin them.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import type { Instruction } from 'dockerfile-ast';

/** One `FROM ... AS name` stage and its instructions. */
export interface Stage {
  readonly name: string;
  readonly image: string;
  readonly instructions: readonly Instruction[];
}

/** The stages of a Dockerfile, in order. Stages without `AS` are named by their index. */
export function parseStages(text: string): Stage[] {
  const dockerfile = DockerfileParser.parse(text);
  const stages: { name: string; image: string; instructions: Instruction[] }[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const args = instruction.getArguments().map((a) => a.getValue());
      const asIndex = args.findIndex((a) => a.toUpperCase() === 'AS');
      stages.push({ name: asIndex >= 0 ? (args[asIndex + 1] ?? '') : String(stages.length), image: args[0] ?? '', instructions: [] });
      continue;
    }
    const current = stages.at(-1);
    if (!current) throw new Error(`line ${instruction.getRange().start.line + 1}: ${instruction.getKeyword()} before FROM`);
    current.instructions.push(instruction);
  }
  return stages;
}

/** Flags of an instruction (`--from=build` -> ['from', 'build']). */
export function flagsOf(instruction: Instruction): Map<string, string> {
  const withFlags = instruction as Instruction & { getFlags?: () => { getName(): string; getValue(): string | null }[] };
  return new Map((withFlags.getFlags?.() ?? []).map((f) => [f.getName(), f.getValue() ?? '']));
}

/** The shell command of a shell-form RUN (flags removed, continuation lines joined). */
export function runCommand(instruction: Instruction): string {
  return instruction
    .getArguments()
    .map((a) => a.getValue())
    .join(' ');
}

/** The exec-form arguments of CMD / ENTRYPOINT (`["node", "dist/main.js"]`). */
export function execForm(instruction: Instruction): string[] {
  const json = instruction as Instruction & { getJSONStrings?: () => { getJSONValue(): string }[] };
  return (json.getJSONStrings?.() ?? []).map((s) => s.getJSONValue());
}

// ------------------------------------------------------------ .dockerignore

/** Docker's pattern syntax (Go filepath.Match plus `**`) as a RegExp over slash paths. */
function patternToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        re += '.*';
        i++;
        if (pattern[i + 1] === '/') i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export interface DockerIgnore {
  /** true when the context path (relative, slash-separated) is excluded. */
  excludes(path: string): boolean;
}

/** Parses `.dockerignore` text (comments, `!` exceptions, leading `/` and `./` ignored, as Docker does). */
export function parseDockerIgnore(text: string): DockerIgnore {
  const rules = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const body = posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+/, '').replace(/\/+$/, '');
      return { negate, re: patternToRegExp(body) };
    });
  return {
    excludes(path: string) {
      // a pattern matching a parent directory excludes everything below it
      const parts = path.split('/');
      const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
      let excluded = false;
      for (const rule of rules) {
        if (candidates.some((c) => rule.re.test(c))) excluded = !rule.negate;
      }
      return excluded;
    },
  };
}

/** Copies `repo` into `into` as Docker would send it as the build context (minus `.dockerignore`). */
export function buildContext(repo: string, into: string): void {
  const ignoreFile = join(repo, '.dockerignore');
  const ignore = parseDockerIgnore(existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8') : '');
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(repo, dir), { withFileTypes: true })) {
      const rel = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (ignore.excludes(rel)) continue;
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile()) {
        mkdirSync(join(into, dir), { recursive: true });
        cpSync(join(repo, rel), join(into, rel), { preserveTimestamps: true });
      }
    }
  };
  walk('');
}

// ------------------------------------------------------------ running stages

export interface StageResult {
  readonly name: string;
  /** The directory standing for the stage's `/`. */
  readonly root: string;
  /** WORKDIR at the end of the stage (container path). */
  readonly workdir: string;
  /** The stage's WORKDIR on this machine. */
  readonly hostWorkdir: string;
  /** ENV set by the stage. */
  readonly env: Readonly<Record<string, string>>;
  /** USER at the end of the stage, if any. */
  readonly user?: string;
  /** Commands of RUN steps that ran, in order. */
  readonly ran: readonly string[];
  /** Commands of RUN steps that were skipped (need root in the image). */
  readonly skipped: readonly string[];
  /** Commands of RUN steps whose result {@link RunStagesOptions.replace} provided instead of running them. */
  readonly replaced: readonly string[];
  /** What each RUN step that ran printed on stdout, by command. */
  readonly stdout: ReadonlyMap<string, string>;
}

export interface RunStagesOptions {
  /** The build context directory (see {@link buildContext}). */
  readonly context: string;
  /** Where the stage roots are created. */
  readonly workspace: string;
  /** Environment added to every RUN (e.g. npm_config_prefer_offline). PATH and HOME come from this process. */
  readonly runEnv?: Readonly<Record<string, string>>;
  /** RUN commands matching this are skipped and reported. Default: apt-get and chown. */
  readonly skip?: RegExp;
  /** Per RUN step time limit, ms. Default: 240000. */
  readonly runTimeoutMs?: number;
  /**
   * A RUN step whose result the caller provides instead (e.g. a node_modules the
   * lockfile installed already): given the stage, the command and the stage's
   * working directory on this machine, returns a function that makes the step's
   * result there, or undefined to run the step. Default: none.
   */
  readonly replace?: (stage: string, command: string, cwd: string) => (() => void) | undefined;
}

/** A RUN step failed: the image build would fail here. */
export class DockerRunError extends Error {
  override readonly name = 'DockerRunError';
  constructor(
    readonly stage: string,
    readonly command: string,
    readonly status: number | null,
    readonly output: string,
  ) {
    super(`stage ${stage}: RUN ${command} exited with ${String(status)}:\n${output.slice(-4000)}`);
  }
}

/**
 * Copies `src` (a file or a directory tree) to `dest` as hard links: each file
 * of `dest` is the same file as its source (same bytes, same modification
 * time), directories are made, symbolic links copied as links. What COPY
 * --from an earlier stage does to the files, for a stage that is never written
 * again: the deps stage's node_modules (~200 MB, ~20,000 files) costs one link
 * per file instead of a read and a write (test/packaging/image-content: 8.5 CPU
 * seconds copied, ~1 s linked). A file on another file system is copied; a
 * file already at the destination is replaced.
 */
export function linkTree(src: string, dest: string): void {
  const stat = lstatSync(src);
  if (stat.isDirectory()) linkDirectory(src, dest);
  else linkEntry(src, dest, stat.isSymbolicLink());
}

// the directory's entries by their dirent types (no stat per file): ~20,000 files, 2.2 -> 1.1 CPU s
function linkDirectory(src: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  for (const entry of readdirSync(src, { withFileTypes: true })) {
    if (entry.isDirectory()) linkDirectory(join(src, entry.name), join(dest, entry.name));
    else linkEntry(join(src, entry.name), join(dest, entry.name), entry.isSymbolicLink());
  }
}

function linkEntry(src: string, dest: string, symbolic: boolean): void {
  const put = () => {
    if (symbolic) symlinkSync(readlinkSync(src), dest);
    else {
      try {
        linkSync(src, dest);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
        copyFileSync(src, dest);
      }
    }
  };
  try {
    put();
  } catch (error) {
    // COPY replaces what the destination held
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    rmSync(dest, { force: true });
    put();
  }
}

/** Runs every stage of `text`, in order. Returns the stages' results by name. */
export function runStages(text: string, options: RunStagesOptions): Map<string, StageResult> {
  const skip = options.skip ?? /^(apt-get|chown)\b/;
  const results = new Map<string, StageResult>();
  for (const stage of parseStages(text)) {
    const root = join(options.workspace, `stage-${stage.name}`);
    mkdirSync(root, { recursive: true });
    let workdir = '/';
    const env: Record<string, string> = {};
    let user: string | undefined;
    const ran: string[] = [];
    const skipped: string[] = [];
    const replaced: string[] = [];
    const stdout = new Map<string, string>();
    const host = (containerPath: string) => join(root, containerPath);
    for (const instruction of stage.instructions) {
      const keyword = instruction.getKeyword();
      const args = instruction.getArguments().map((a) => a.getValue());
      switch (keyword) {
        case 'WORKDIR':
          workdir = posix.resolve(workdir, args[0] ?? '/');
          mkdirSync(host(workdir), { recursive: true });
          break;
        case 'ENV': {
          const props = (instruction as Instruction & { getProperties(): { getName(): string; getValue(): string | null }[] }).getProperties();
          for (const p of props) env[p.getName()] = p.getValue() ?? '';
          break;
        }
        case 'USER':
          user = args[0];
          break;
        case 'COPY': {
          const from = flagsOf(instruction).get('from');
          const sourceRoot = from === undefined ? options.context : results.get(from)?.root;
          if (sourceRoot === undefined) throw new Error(`stage ${stage.name}: COPY --from=${String(from)}: no such earlier stage`);
          const sources = args.slice(0, -1);
          const destArg = args.at(-1) ?? '.';
          const dest = posix.resolve(workdir, destArg);
          const intoDir = destArg.endsWith('/') || destArg === '.' || sources.length > 1;
          for (const source of sources) {
            const src = join(sourceRoot, from === undefined ? posix.normalize(source) : posix.resolve('/', source));
            if (!existsSync(src)) {
              throw new Error(`stage ${stage.name}: COPY ${from === undefined ? '' : `--from=${from} `}${source}: not found in the ${from === undefined ? 'build context (.dockerignore?)' : `stage ${from}`}`);
            }
            const isDir = statSync(src).isDirectory();
            // a directory's contents go into dest; a file goes into dest/ or becomes dest
            const target = isDir ? host(dest) : intoDir ? join(host(dest), posix.basename(source)) : host(dest);
            mkdirSync(isDir ? target : dirname(target), { recursive: true });
            // Docker's COPY keeps the files' modification times; an earlier stage's files are linked (never written again)
            if (from === undefined) cpSync(src, target, { recursive: true, preserveTimestamps: true });
            else linkTree(src, target);
          }
          break;
        }
        case 'RUN': {
          const command = runCommand(instruction);
          if (skip.test(command)) {
            skipped.push(command);
            break;
          }
          const cwd = host(workdir);
          const replacement = options.replace?.(stage.name, command, cwd);
          if (replacement) {
            replacement();
            replaced.push(command);
            break;
          }
          let out: Buffer;
          try {
            out = execFileSync('sh', ['-c', command], {
              cwd,
              env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.runEnv, ...env },
              stdio: ['ignore', 'pipe', 'pipe'],
              timeout: options.runTimeoutMs ?? 240_000,
              maxBuffer: 64 * 1024 * 1024,
            });
          } catch (error) {
            const e = error as { status?: number | null; stdout?: Buffer; stderr?: Buffer };
            throw new DockerRunError(stage.name, command, e.status ?? null, `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`);
          }
          ran.push(command);
          stdout.set(command, out.toString('utf8'));
          break;
        }
        default:
          // EXPOSE, CMD, ENTRYPOINT, LABEL, ARG...: nothing to do on the file system
          break;
      }
    }
    results.set(stage.name, {
      name: stage.name,
      root,
      workdir,
      hostWorkdir: host(workdir),
      env,
      ...(user !== undefined ? { user } : {}),
      ran,
      skipped,
      replaced,
      stdout,
    });
  }
  return results;
}

/** Files under `dir`, relative, slash-separated, sorted (for messages). */
export function listFiles(dir: string, limit = 10_000): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (out.length >= limit) return;
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(relative(dir, full).split('\\').join('/'));
    }
  };
  walk(dir);
  return out.sort();
}
