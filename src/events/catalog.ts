/**
 * The event catalog: every `.proto` under the proto directories, parsed once with
 * protobufjs, indexed by service, method path and event name. Codecs are built
 * lazily, on first use of a service.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve as resolvePath, sep } from 'node:path';
import protobuf from 'protobufjs';
import type { Namespace, ReflectionObject, Root, Service, Type } from 'protobufjs';
import { codecFor } from './codec.js';
import { closestNames, lowerCamel } from './names.js';
import { CatalogLoadError } from './types.js';
import type { Catalog, EventCodec, EventService, ResolveResult } from './types.js';

export interface CatalogOptions {
  /**
   * Directories walked recursively for `*.proto` files; they are also the include
   * paths imports are resolved against. When two directories hold the same
   * relative path, the first one wins. Required (no default).
   */
  readonly dirs: readonly string[];
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

/** Loads every `.proto` under `options.dirs` into an immutable {@link Catalog}. Throws {@link CatalogLoadError}. */
export async function loadCatalog(options: CatalogOptions): Promise<Catalog> {
  if (options.dirs.length === 0) throw new CatalogLoadError('(none)', 'no proto directory given');
  const dirs = options.dirs.map((d) => (isAbsolute(d) ? d : resolvePath(d)));

  // files, first dir wins for a relative path
  const byRel = new Map<string, ProtoFile>();
  const listed = await Promise.all(dirs.map(async (dir) => ({ dir, rels: await walk(dir) })));
  for (const { dir, rels } of listed) {
    for (const rel of rels) if (!byRel.has(rel)) byRel.set(rel, { dir, rel });
  }
  const files = [...byRel.values()];
  const sources = await Promise.all(
    files.map(async (f) => {
      try {
        return await readFile(join(f.dir, f.rel), 'utf8');
      } catch (err) {
        throw new CatalogLoadError(f.rel, err instanceof Error ? err.message : String(err));
      }
    }),
  );

  const root = new protobuf.Root();
  const addedCommon = new Set<string>();
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    let parsed: protobuf.IParserResult;
    try {
      setParseFilename(file.rel);
      parsed = protobuf.parse(sources[i]!, root, { keepCase: true, alternateCommentMode: false });
    } catch (err) {
      throw new CatalogLoadError(file.rel, err instanceof Error ? err.message : String(err));
    } finally {
      setParseFilename(null);
    }
    for (const imp of [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]) {
      if (byRel.has(imp) || addedCommon.has(imp)) continue;
      const json = wellKnownJson(imp);
      if (!json) {
        throw new CatalogLoadError(file.rel, `import "${imp}" not found in ${dirs.join(', ')}`);
      }
      addedCommon.add(imp);
      try {
        root.addJSON(json.nested ?? {});
      } catch (err) {
        throw new CatalogLoadError(imp, err instanceof Error ? err.message : String(err));
      }
    }
  }
  checkReferences(root);

  // services in file then declaration order
  const fileOrder = new Map(files.map((f, i) => [f.rel, i]));
  const found: { service: Service; order: number; seq: number }[] = [];
  let seq = 0;
  for (const obj of walkReflection(root)) {
    if (obj instanceof protobuf.Service) {
      found.push({ service: obj, order: fileOrder.get(obj.filename ?? '') ?? files.length, seq: seq++ });
    }
  }
  found.sort((a, b) => a.order - b.order || a.seq - b.seq);

  const services: EventService[] = [];
  for (const { service } of found) {
    const fullName = service.fullName.replace(/^\./, '');
    for (const method of service.methodsArray) {
      if (method.requestStream || method.responseStream) continue;
      const requestType = method.resolvedRequestType as Type;
      const requestTypeName = requestType.fullName.replace(/^\./, '');
      services.push(
        Object.freeze({
          fullName,
          name: service.name,
          packageName: fullName.slice(0, Math.max(0, fullName.length - service.name.length - 1)),
          methodName: method.name,
          path: `/${fullName}/${method.name}`,
          requestType,
          requestTypeName,
          eventName: lowerCamel(requestType.name),
          file: service.filename ?? '',
        }),
      );
    }
  }
  return new LoadedCatalog(dirs, files.map((f) => f.rel), services, root);
}

class LoadedCatalog implements Catalog {
  readonly dirs: readonly string[];
  readonly files: readonly string[];
  readonly services: readonly EventService[];
  readonly root: Root;
  private readonly indexes: readonly Map<string, EventService[]>[];
  private readonly byPath = new Map<string, EventService>();

  constructor(dirs: string[], files: string[], services: EventService[], root: Root) {
    this.dirs = Object.freeze(dirs);
    this.files = Object.freeze(files);
    this.services = Object.freeze(services);
    this.root = root;
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
    this.indexes = [byFull, byShort, byEvent, byType];
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
