/**
 * The event catalog: every `.proto` under the proto directories, parsed once with
 * protobufjs, indexed by service, method path and event name. Codecs are built
 * lazily, on first use of a service.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve as resolvePath, sep } from 'node:path';
import protobuf from 'protobufjs';
import { parseProtoHeader } from './proto-header.js';
import type { ProtoHeader } from './proto-header.js';
import type { Namespace, ReflectionObject, Root, Service, Type } from 'protobufjs';
import { codecFor } from './codec.js';
import { choosePathFile } from './same-path.js';
import { closestNames, lowerCamel } from './names.js';
import { CatalogLoadError } from './types.js';
import type { Catalog, EventCodec, EventService, ResolveResult, SkippedMethod } from './types.js';

export interface CatalogOptions {
  /**
   * Directories walked recursively for `*.proto` files; they are also the include
   * paths imports are resolved against. When several directories hold the
   * same relative path, the file the others are excerpts of is loaded (each of
   * their definitions identical in it: the shipped 2-event `account.proto`
   * never hides AGS's own), else the first directory's. Required (no default).
   */
  readonly dirs: readonly string[];
  /**
   * Keep every loaded type in memory (`root`; request types are taken from it).
   * `false`: after the load only the services' names stay; a request type is
   * parsed again from its own file (and its imports) on first use, and `root`
   * on first access. With the whole AGS catalog that is ~6 MB less live heap —
   * and V8 sizes the old generation on the live heap, so under load the peak
   * RSS drops by several times that — for a server that decodes a few event
   * types and builds reflection descriptors only when asked (give
   * `DescriptorPool` its roots as a function). Default: true.
   */
  readonly keepRoot?: boolean;
}

const require = createRequire(import.meta.url);

/** `google/protobuf/*.proto` without the files on disk: protobufjs' bundled definitions. */
function wellKnownJson(importPath: string): protobuf.INamespace | null {
  const common = protobuf.common.get(importPath);
  if (common) return common;
  const m = /^google\/protobuf\/([a-z_]+)\.proto$/.exec(importPath);
  if (!m) return null;
  try {
    return require(`protobufjs/google/protobuf/${m[1]}.json`) as protobuf.INamespace;
  } catch {
    return null;
  }
}

interface ProtoFile {
  readonly dir: string;
  readonly rel: string;
}

async function walk(dir: string): Promise<string[]> {
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new CatalogLoadError(dir, 'no such directory');
  }
  if (!info.isDirectory()) throw new CatalogLoadError(dir, 'not a directory');
  const entries = await readdir(dir, { recursive: true });
  return entries
    .filter((e) => e.endsWith('.proto'))
    .map((e) => e.split(sep).join('/'))
    .sort();
}

function setParseFilename(name: string | null): void {
  (protobuf.parse as unknown as { filename: string | null }).filename = name;
}

/** Every object of the tree, depth first, in declaration order. */
function* walkReflection(ns: Namespace): Generator<ReflectionObject> {
  for (const obj of ns.nestedArray) {
    yield obj;
    if (obj instanceof protobuf.Namespace) yield* walkReflection(obj);
  }
}

/**
 * Makes a reflection object lighter to keep alive: `parsedOptions` (a second
 * copy of `options` that nothing here reads) dropped, and strings cut out of the
 * `.proto` texts replaced by interned copies (a substring keeps its whole file
 * text alive). With the whole AGS catalog the root then holds ~6 MB instead of
 * ~9.5 MB; the live heap matters beyond its size: V8 sizes the old generation
 * on it, so under load the peak RSS grows by several times as much.
 */
/** Properties of reflection objects that hold names read from the `.proto` text. */
const NAME_PROPS = ['name', 'type', 'keyType', 'extend', 'requestType', 'responseType'] as const;

function slim(obj: object, intern: (s: string) => string): void {
  const o = obj as Record<string, unknown>;
  if (o.parsedOptions) o.parsedOptions = null;
  for (const k of NAME_PROPS) {
    const v = o[k];
    if (typeof v === 'string') o[k] = intern(v);
  }
  const opts = o.options;
  if (opts && typeof opts === 'object') {
    const rec = opts as Record<string, unknown>;
    for (const ok in rec) {
      const v = rec[ok];
      if (typeof v === 'string') rec[ok] = intern(v);
    }
  }
  const names = o.oneof;
  if (Array.isArray(names)) for (let i = 0; i < names.length; i++) if (typeof names[i] === 'string') names[i] = intern(names[i] as string);
}

function interner(): (s: string) => string {
  const seen = new Map<string, string>();
  return (s) => {
    let copy = seen.get(s);
    if (copy === undefined) {
      copy = s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string); // V8 makes substrings of 13+ characters slices of their parent
      seen.set(copy, copy);
    }
    return copy;
  };
}

/**
 * Checks that every type reference resolves, without protobufjs' `resolveAll`
 * (which also generates a constructor for every message: most of the load time).
 * Fields are resolved lazily when a codec is first built.
 */
function checkReferences(root: Root): void {
  const basic = protobuf.types.basic as Record<string, unknown>;
  for (const obj of walkReflection(root)) {
    try {
      if (obj instanceof protobuf.Type) {
        for (const field of obj.fieldsArray) {
          if (basic[field.type] === undefined) {
            (field.declaringField ? field.declaringField.parent! : field.parent!).lookupTypeOrEnum(field.type);
          }
        }
      } else if (obj instanceof protobuf.Service) {
        for (const method of obj.methodsArray) method.resolve();
      }
    } catch (err) {
      throw new CatalogLoadError(obj.filename ?? obj.fullName, err instanceof Error ? err.message : String(err));
    }
  }
}

/**
 * Parses `rels` (and, transitively, the catalog files they import) into `root`,
 * adding the well-known types they import from protobufjs' bundle.
 * Throws {@link CatalogLoadError}.
 */
function parseInto(root: Root, rels: readonly string[], sources: ReadonlyMap<string, Buffer>, dirs: readonly string[], withImports: boolean): void {
  const addedCommon = new Set<string>();
  const parsedFiles = new Set<string>();
  const queue = [...rels];
  for (let i = 0; i < queue.length; i++) {
    const rel = queue[i]!;
    if (parsedFiles.has(rel)) continue;
    parsedFiles.add(rel);
    let parsed: protobuf.IParserResult;
    try {
      setParseFilename(rel);
      parsed = protobuf.parse(sources.get(rel)!.toString('utf8'), root, { keepCase: true, alternateCommentMode: false });
    } catch (err) {
      throw new CatalogLoadError(rel, err instanceof Error ? err.message : String(err));
    } finally {
      setParseFilename(null);
    }
    for (const imp of [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]) {
      if (sources.has(imp)) {
        if (withImports) queue.push(imp);
        continue;
      }
      if (addedCommon.has(imp)) continue;
      const json = wellKnownJson(imp);
      if (!json) {
        throw new CatalogLoadError(rel, `import "${imp}" not found in ${dirs.join(', ')}`);
      }
      addedCommon.add(imp);
      try {
        root.addJSON(json.nested ?? {});
      } catch (err) {
        throw new CatalogLoadError(imp, err instanceof Error ? err.message : String(err));
      }
    }
  }
}

/** Every object of a root made lighter (see {@link slim}). */
function slimAll(root: Root): void {
  const intern = interner();
  for (const obj of walkReflection(root)) {
    slim(obj, intern);
    if (obj instanceof protobuf.Type) {
      for (const field of obj.fieldsArray) slim(field, intern);
      for (const oneof of obj.oneofsArray) slim(oneof, intern);
    } else if (obj instanceof protobuf.Service) {
      for (const method of obj.methodsArray) slim(method, intern);
    }
  }
}

function bareName(path: string | string[]): string {
  const name = typeof path === 'string' ? path : path.join('.');
  return name.startsWith('.') ? name.slice(1) : name;
}

/**
 * The root of one file (and its imports). A lookup that starts at this root and
 * finds nothing continues in the catalog (an `Any` may hold a message of any
 * loaded file).
 */
class FileRoot extends protobuf.Root {
  constructor(private readonly elsewhere: (name: string, filterTypes: unknown) => ReflectionObject | null) {
    super();
  }

  override lookup(path: string | string[], filterTypes?: unknown, parentAlreadyChecked?: boolean): ReflectionObject | null {
    const found = (super.lookup as (p: string | string[], f?: unknown, c?: boolean) => ReflectionObject | null)(path, filterTypes, parentAlreadyChecked);
    if (found !== null || parentAlreadyChecked) return found;
    return this.elsewhere(bareName(path), filterTypes);
  }
}

/** Loads every `.proto` under `options.dirs` into an immutable {@link Catalog}. Throws {@link CatalogLoadError}. */
export async function loadCatalog(options: CatalogOptions): Promise<Catalog> {
  if (options.dirs.length === 0) throw new CatalogLoadError('(none)', 'no proto directory given');
  const dirs = options.dirs.map((d) => (isAbsolute(d) ? d : resolvePath(d)));

  // files; a relative path in several dirs: the fullest file when the others are excerpts of it, else the first dir's (same-path.ts)
  const byRel = new Map<string, ProtoFile>();
  const candidates = new Map<string, string[]>();
  const listed = await Promise.all(dirs.map(async (dir) => ({ dir, rels: await walk(dir) })));
  for (const { dir, rels } of listed) {
    for (const rel of rels) {
      if (!byRel.has(rel)) byRel.set(rel, { dir, rel });
      else (candidates.get(rel) ?? candidates.set(rel, [byRel.get(rel)!.dir]).get(rel)!).push(dir);
    }
  }
  for (const [rel, inDirs] of candidates) {
    const texts = await Promise.all(inDirs.map((d) => readFile(join(d, rel), 'utf8').catch(() => '')));
    byRel.set(rel, { dir: inDirs[choosePathFile(texts)]!, rel });
  }
  const files = [...byRel.values()];
  // Buffers: kept outside the JS heap for the roots parsed later (see LoadedCatalog)
  const sources = new Map<string, Buffer>();
  await Promise.all(
    files.map(async (f) => {
      try {
        sources.set(f.rel, await readFile(join(f.dir, f.rel)));
      } catch (err) {
        throw new CatalogLoadError(f.rel, err instanceof Error ? err.message : String(err));
      }
    }),
  );

  const root = new protobuf.Root();
  parseInto(
    root,
    files.map((f) => f.rel),
    sources,
    dirs,
    false,
  );
  checkReferences(root);

  // services in file then declaration order
  const fileOrder = new Map(files.map((f, i) => [f.rel, i]));
  const found: { service: Service; order: number; seq: number }[] = [];
  const typeFiles = new Map<string, string>();
  let seq = 0;
  for (const obj of walkReflection(root)) {
    if (obj instanceof protobuf.Service) {
      found.push({ service: obj, order: fileOrder.get(obj.filename ?? '') ?? files.length, seq: seq++ });
    }
    if (obj.filename && sources.has(obj.filename) && (obj instanceof protobuf.Type || obj instanceof protobuf.Enum || obj instanceof protobuf.Service)) {
      typeFiles.set(bareName(obj.fullName), obj.filename);
    }
  }
  found.sort((a, b) => a.order - b.order || a.seq - b.seq);

  const ref: { catalog?: LoadedCatalog } = {};
  const services: EventService[] = [];
  const skipped: SkippedMethod[] = [];
  for (const { service } of found) {
    const fullName = service.fullName.replace(/^\./, '');
    for (const method of service.methodsArray) {
      if (method.requestStream || method.responseStream) {
        skipped.push({ path: `/${fullName}/${method.name}`, reason: 'a streaming method, not an event' });
        continue;
      }
      const responseTypeName = (method.resolvedResponseType?.fullName ?? method.responseType).replace(/^\./, '');
      if (responseTypeName !== 'google.protobuf.Empty') {
        skipped.push({ path: `/${fullName}/${method.name}`, reason: `answers ${responseTypeName}, not google.protobuf.Empty: not an event this host can answer` });
        continue;
      }
      const requestType = method.resolvedRequestType as Type;
      const requestTypeName = requestType.fullName.replace(/^\./, '');
      const file = service.filename ?? '';
      services.push(
        Object.freeze({
          fullName,
          name: service.name,
          packageName: fullName.slice(0, Math.max(0, fullName.length - service.name.length - 1)),
          methodName: method.name,
          path: `/${fullName}/${method.name}`,
          get requestType(): Type {
            return ref.catalog!.typeOf(requestTypeName, file);
          },
          requestTypeName,
          eventName: lowerCamel(requestType.name),
          file,
        }),
      );
    }
  }
  ref.catalog = new LoadedCatalog(
    dirs,
    files.map((f) => f.rel),
    services,
    skipped,
    sources,
    typeFiles,
    root,
    options.keepRoot ?? true,
  );
  return ref.catalog;
}

/**
 * With `keepRoot: false` the catalog keeps no protobufjs root of the whole
 * catalog alive (see {@link CatalogOptions.keepRoot}): a service's request type
 * comes from the root of its own file (and its imports), parsed on first use (a
 * few ms); `root` (every file in one root, for reflection) is parsed again on
 * first access, unless the root parsed at load is still in memory.
 */
class LoadedCatalog implements Catalog {
  readonly dirs: readonly string[];
  readonly files: readonly string[];
  readonly services: readonly EventService[];
  readonly skipped: readonly SkippedMethod[];
  readonly #sources: ReadonlyMap<string, Buffer>;
  /** Imports and file options per file, read from the sources at load (a few ms for the whole AGS catalog). */
  readonly #headers = new Map<string, ProtoHeader>();
  /** Full name of every message, enum and service -> the file declaring it. */
  readonly #typeFiles: ReadonlyMap<string, string>;
  readonly #fileRoots = new Map<string, FileRoot>();
  readonly #types = new Map<string, Type>();
  #root: Root | undefined;
  readonly #loadRoot: WeakRef<Root>;
  readonly #keepRoot: boolean;
  private readonly indexes: readonly Map<string, EventService[]>[];
  private readonly byPath = new Map<string, EventService>();

  constructor(
    dirs: string[],
    files: string[],
    services: EventService[],
    skipped: SkippedMethod[],
    sources: ReadonlyMap<string, Buffer>,
    typeFiles: ReadonlyMap<string, string>,
    loadRoot: Root,
    keepRoot: boolean,
  ) {
    this.dirs = Object.freeze(dirs);
    this.files = Object.freeze(files);
    this.skipped = Object.freeze(skipped);
    for (const [file, text] of sources) this.#headers.set(file, parseProtoHeader(text.toString('utf8')));
    this.#sources = keepRoot ? new Map() : sources;
    this.#typeFiles = typeFiles;
    this.#loadRoot = new WeakRef(loadRoot);
    this.#keepRoot = keepRoot;
    if (keepRoot) {
      slimAll(loadRoot);
      this.#root = loadRoot;
    }
    this.services = Object.freeze(services);
    this.indexes = this.#index(services);
  }

  header(file: string): ProtoHeader | undefined {
    return this.#headers.get(file);
  }

  /** Every loaded type in one root (reflection, tools): parsed again on first use unless the load's root is still in memory. */
  get root(): Root {
    if (!this.#root) {
      let root = this.#loadRoot.deref();
      if (!root) {
        root = new protobuf.Root();
        parseInto(root, this.files, this.#sources, this.dirs, false);
      }
      slimAll(root);
      this.#root = root;
    }
    return this.#root;
  }

  /** The root of one file and the files it imports, parsed on first use. */
  #fileRoot(rel: string): FileRoot {
    let root = this.#fileRoots.get(rel);
    if (!root) {
      root = new FileRoot((name, filterTypes) => {
        const file = this.#typeFiles.get(name);
        if (file === undefined || file === rel) return null;
        return this.#fileRoot(file).lookup(name, filterTypes, true);
      });
      parseInto(root, [rel], this.#sources, this.dirs, true);
      slimAll(root);
      this.#fileRoots.set(rel, root);
    }
    return root;
  }

  /** A service's request type: from the whole root when it is kept, else from the root of the file declaring it. */
  typeOf(typeName: string, serviceFile: string): Type {
    let type = this.#types.get(typeName);
    if (!type) {
      type = (this.#keepRoot ? this.root : this.#fileRoot(this.#typeFiles.get(typeName) ?? serviceFile)).lookupType(typeName);
      this.#types.set(typeName, type);
    }
    return type;
  }

  #index(services: readonly EventService[]): Map<string, EventService[]>[] {
    const byFull = new Map<string, EventService[]>();
    const byShort = new Map<string, EventService[]>();
    const byEvent = new Map<string, EventService[]>();
    const byType = new Map<string, EventService[]>();
    const add = (map: Map<string, EventService[]>, key: string, s: EventService): void => {
      const list = map.get(key);
      if (list) list.push(s);
      else map.set(key, [s]);
    };
    for (const s of services) {
      this.byPath.set(s.path.slice(1), s);
      add(byFull, s.fullName, s);
      add(byShort, s.name, s);
      add(byEvent, s.eventName, s);
      add(byType, s.requestTypeName, s);
    }
    return [byFull, byShort, byEvent, byType];
  }

  resolve(name: string): ResolveResult {
    const wanted = name.trim().replace(/^\//, '');
    if (wanted.includes('/')) {
      const service = this.byPath.get(wanted);
      if (service) return { ok: true, service };
    } else {
      for (const index of this.indexes) {
        const list = index.get(wanted);
        if (!list) continue;
        if (list.length === 1) return { ok: true, service: list[0]! };
        const names = new Set(list.map((s) => s.fullName));
        const candidates = names.size === list.length ? [...names] : list.map((s) => s.path);
        return { ok: false, reason: 'ambiguous', candidates };
      }
    }
    const names = wanted.includes('/') ? this.services.map((s) => s.path.slice(1)) : this.allNames();
    return { ok: false, reason: 'unknown', candidates: closestNames(wanted, names) };
  }

  private allNames(): string[] {
    const names: string[] = [];
    for (const s of this.services) names.push(s.eventName, s.name, s.fullName);
    return names;
  }

  codec(service: EventService): EventCodec {
    return codecFor(service.requestType);
  }
}
