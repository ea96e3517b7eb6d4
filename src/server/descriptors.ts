/**
 * Serialized `google.protobuf.FileDescriptorProto`s for server reflection, built
 * from protobufjs roots: lazily, one file at a time, cached.
 *
 * protobufjs' own `toDescriptor` groups by package rather than by file, drops
 * `dependency` and `json_name`, and writes relative type names; grpcurl, Postman
 * and the Extend sidecar need real per-file descriptors with their imports, fully
 * qualified type names and the `json_name`s of the `.proto` (`[json_name = "SchedAction"]`
 * included), so the descriptors are built here. The roots must be loaded with
 * `keepCase: true` (field names as written in the `.proto`).
 */
import { createRequire } from 'node:module';
import { isAbsolute, relative, sep } from 'node:path';
import protobuf from 'protobufjs';
import type { Enum, Field, MapField, Method, Namespace, ReflectionObject, Root, Service, Type } from 'protobufjs';
import type { ProtoHeader } from '../events/index.js';
import { WKT_DESCRIPTORS } from './generated/wkt-descriptors.js';

const require = createRequire(import.meta.url);
const descriptorRoot = protobuf.Root.fromJSON(require('protobufjs/google/protobuf/descriptor.json') as protobuf.INamespace);
const FileDescriptorProto = descriptorRoot.lookupType('google.protobuf.FileDescriptorProto');
const FileOptions = descriptorRoot.lookupType('google.protobuf.FileOptions');
const NO_METHODS: ReadonlySet<string> = new Set();

/** `java_package` -> `javaPackage`: protobufjs' bundled descriptor.json names fields in camelCase. */
function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** The file options of a header, as a FileOptions object (options protobufjs' FileOptions does not know are left out). */
function fileOptions(header: ProtoHeader): PlainDescriptor | undefined {
  const out: PlainDescriptor = {};
  for (const { name, value } of header.options) {
    const field = FileOptions.fields[camel(name)];
    if (!field) continue;
    out[field.name] = typeof value === 'object' ? value.identifier : value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Files of the well-known types protobufjs bundles (they carry no file name when loaded from its bundle). */
const WELL_KNOWN_FILES: Readonly<Record<string, string>> = {
  'google.protobuf.Any': 'google/protobuf/any.proto',
  'google.protobuf.Duration': 'google/protobuf/duration.proto',
  'google.protobuf.Timestamp': 'google/protobuf/timestamp.proto',
  'google.protobuf.Empty': 'google/protobuf/empty.proto',
  'google.protobuf.Struct': 'google/protobuf/struct.proto',
  'google.protobuf.Value': 'google/protobuf/struct.proto',
  'google.protobuf.NullValue': 'google/protobuf/struct.proto',
  'google.protobuf.ListValue': 'google/protobuf/struct.proto',
  'google.protobuf.FieldMask': 'google/protobuf/field_mask.proto',
  'google.protobuf.DoubleValue': 'google/protobuf/wrappers.proto',
  'google.protobuf.FloatValue': 'google/protobuf/wrappers.proto',
  'google.protobuf.Int64Value': 'google/protobuf/wrappers.proto',
  'google.protobuf.UInt64Value': 'google/protobuf/wrappers.proto',
  'google.protobuf.Int32Value': 'google/protobuf/wrappers.proto',
  'google.protobuf.UInt32Value': 'google/protobuf/wrappers.proto',
  'google.protobuf.BoolValue': 'google/protobuf/wrappers.proto',
  'google.protobuf.StringValue': 'google/protobuf/wrappers.proto',
  'google.protobuf.BytesValue': 'google/protobuf/wrappers.proto',
};

const DESCRIPTOR_FILE = 'google/protobuf/descriptor.proto';

/** google.protobuf.FieldDescriptorProto.Type by protobufjs type name. */
const SCALAR_TYPES: Readonly<Record<string, number>> = {
  double: 1,
  float: 2,
  int64: 3,
  uint64: 4,
  int32: 5,
  fixed64: 6,
  fixed32: 7,
  bool: 8,
  string: 9,
  bytes: 12,
  uint32: 13,
  sfixed32: 15,
  sfixed64: 16,
  sint32: 17,
  sint64: 18,
};
const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;
const LABEL_OPTIONAL = 1;
const LABEL_REQUIRED = 2;
const LABEL_REPEATED = 3;

export interface DescriptorPoolOptions {
  /**
   * The roots to describe (the catalog's, the infrastructure services'). Loaded with `keepCase: true`.
   * A function: called on the first request, so a catalog's root need not be kept in memory before reflection is used.
   */
  readonly roots: readonly Root[] | (() => readonly Root[]);
  /** Proto directories: absolute file names under one of them are made relative to it. Default: none. */
  readonly dirs?: readonly string[];
  /**
   * The imports and file options of a file as written in its `.proto` (the
   * catalog's {@link Catalog.header}): the descriptor then lists every import in
   * order, public and weak ones marked, and carries the file options, as protoc
   * does. Undefined for a file: its dependencies are the files its types refer
   * to, and it has no options. Default: none.
   */
  readonly headerOf?: (file: string) => ProtoHeader | undefined;
}

interface FileEntry {
  readonly name: string;
  readonly objects: ReflectionObject[];
  encoded?: Buffer;
  closure?: readonly Buffer[];
}

type PlainDescriptor = Record<string, unknown>;

/** The default `json_name` protoc writes: underscores removed, the next letter upper-cased. */
export function protocJsonName(name: string): string {
  let out = '';
  let upper = false;
  for (const ch of name) {
    if (ch === '_') {
      upper = true;
    } else {
      out += upper ? ch.toUpperCase() : ch;
      upper = false;
    }
  }
  return out;
}

/** The map-entry message name protoc generates for a map field: `statuses` -> `StatusesEntry`. */
function mapEntryName(fieldName: string): string {
  const camel = protocJsonName(fieldName);
  return `${camel.charAt(0).toUpperCase()}${camel.slice(1)}Entry`;
}

function isType(o: ReflectionObject): o is Type {
  return o instanceof protobuf.Type;
}
function isEnum(o: ReflectionObject): o is Enum {
  return o instanceof protobuf.Enum;
}
function isService(o: ReflectionObject): o is Service {
  return o instanceof protobuf.Service;
}
function isNamespace(o: ReflectionObject): o is Namespace {
  return o instanceof protobuf.Namespace;
}
function isMapField(f: Field): f is MapField & Field {
  return f instanceof protobuf.MapField;
}

function bare(fullName: string): string {
  return fullName.startsWith('.') ? fullName.slice(1) : fullName;
}

/** The syntax protobufjs recorded while parsing (`_edition`), proto3 when unknown. */
function syntaxOf(o: ReflectionObject, file?: string): 'proto2' | 'proto3' {
  if (file === DESCRIPTOR_FILE) return 'proto2';
  const edition = (o as unknown as { _edition?: unknown })._edition;
  return edition === 'proto2' ? 'proto2' : 'proto3';
}

/**
 * Every file of the given roots, indexed by name and by top-level symbol; each
 * file's descriptor (and its dependency closure) encoded on first request.
 */
export class DescriptorPool {
  private readonly rootsSource: readonly Root[] | (() => readonly Root[]);
  private rootsValue: readonly Root[] | undefined;
  private readonly dirs: readonly string[];
  private readonly headerOf: ((file: string) => ProtoHeader | undefined) | undefined;
  private readonly files = new Map<string, FileEntry>();
  /** Top-level object -> its file. */
  private readonly fileOfObject = new Map<ReflectionObject, FileEntry>();
  /** Top-level symbol's full name -> its file (the first root declaring it). */
  private readonly fileOfName = new Map<string, FileEntry>();

  constructor(options: DescriptorPoolOptions) {
    this.rootsSource = options.roots;
    this.headerOf = options.headerOf;
    this.dirs = (options.dirs ?? []).map((d) => (d.endsWith(sep) ? d : d + sep));
    if (typeof options.roots !== 'function') void this.roots;
  }

  /** The roots, indexed on first use. */
  private get roots(): readonly Root[] {
    if (!this.rootsValue) {
      const roots = typeof this.rootsSource === 'function' ? this.rootsSource() : this.rootsSource;
      for (const root of roots) this.walk(root);
      this.rootsValue = roots;
    }
    return this.rootsValue;
  }

  /** Names of every file known to the pool. */
  fileNames(): string[] {
    void this.roots;
    return [...this.files.keys()];
  }

  hasFile(name: string): boolean {
    void this.roots;
    return this.files.has(name);
  }

  /** A file's entry; the well-known types' files exist even when no root holds their types (a dependency of another one). */
  private entry(name: string): FileEntry | undefined {
    let entry = this.files.get(name);
    if (!entry && WKT_DESCRIPTORS[name] !== undefined) {
      entry = { name, objects: [] };
      this.files.set(name, entry);
    }
    return entry;
  }

  /**
   * The file declaring a symbol: a package-level or nested message, enum or service,
   * a method (`pkg.Service.Method`) or a field (`pkg.Message.field`). Undefined when unknown.
   */
  fileContainingSymbol(symbol: string): string | undefined {
    const name = bare(symbol);
    if (name === '') return undefined;
    for (const root of this.roots) {
      let found: ReflectionObject | null;
      try {
        found = root.lookup(name);
      } catch {
        found = null;
      }
      if (!found || found === root) continue;
      const file = this.fileOf(found);
      if (file) return file.name;
    }
    return undefined;
  }

  /** True when the name is a known message type. */
  isMessageType(name: string): boolean {
    for (const root of this.roots) {
      try {
        if (isType(root.lookup(bare(name)) as ReflectionObject)) return true;
      } catch {
        // not in this root
      }
    }
    return false;
  }

  /**
   * The serialized descriptors of a file followed by those of all its transitive
   * dependencies (each once). Undefined when the file is unknown.
   */
  fileWithDependencies(name: string): readonly Buffer[] | undefined {
    void this.roots;
    const entry = this.entry(name);
    if (!entry) return undefined;
    if (entry.closure) return entry.closure;
    const seen = new Set<FileEntry>([entry]);
    const queue: FileEntry[] = [entry];
    const out: Buffer[] = [];
    for (let i = 0; i < queue.length; i++) {
      const current = queue[i] as FileEntry;
      const { encoded, deps } = this.encode(current);
      out.push(encoded);
      for (const dep of deps) {
        if (!seen.has(dep)) {
          seen.add(dep);
          queue.push(dep);
        }
      }
    }
    entry.closure = out;
    return out;
  }

  // --- indexing ---

  private walk(ns: Namespace): void {
    for (const nested of ns.nestedArray) {
      if (isType(nested) || isEnum(nested) || isService(nested)) {
        const full = bare(nested.fullName);
        const first = this.fileOfName.get(full);
        if (first) {
          // the same symbol in a later root (a well-known type, a loaded copy of a built-in proto): the first root's declaration is the one described
          this.fileOfObject.set(nested, first);
          continue;
        }
        const name = this.fileNameOf(nested);
        let entry = this.files.get(name);
        if (!entry) {
          entry = { name, objects: [] };
          this.files.set(name, entry);
        }
        entry.objects.push(nested);
        this.fileOfObject.set(nested, entry);
        this.fileOfName.set(full, entry);
      } else if (isNamespace(nested)) {
        this.walk(nested);
      }
    }
  }

  private fileNameOf(o: ReflectionObject): string {
    const full = bare(o.fullName);
    const known = WELL_KNOWN_FILES[full];
    if (known) return known;
    const filename = o.filename;
    if (!filename) {
      // protobufjs' bundled JSON of descriptor.proto carries no file name either
      return full.startsWith('google.protobuf.') ? DESCRIPTOR_FILE : `${full.replace(/\./g, '/')}.proto`;
    }
    const posix = filename.split(sep).join('/');
    const google = posix.lastIndexOf('google/protobuf/');
    if (google >= 0) return posix.slice(google);
    if (isAbsolute(filename)) {
      for (const dir of this.dirs) {
        if (filename.startsWith(dir)) return relative(dir, filename).split(sep).join('/');
      }
    }
    return posix;
  }

  /** The file of any object: climb to its package-level ancestor. */
  private fileOf(o: ReflectionObject): FileEntry | undefined {
    let current: ReflectionObject | null = o;
    while (current) {
      const file = this.fileOfObject.get(current);
      if (file) return file;
      current = current.parent;
    }
    return undefined;
  }

  // --- building ---

  private encode(entry: FileEntry): { encoded: Buffer; deps: FileEntry[] } {
    const canonical = WKT_DESCRIPTORS[entry.name];
    if (canonical !== undefined) {
      // protoc's own descriptor of a well-known type: field names as in the .proto (null_value), options, json_name
      entry.encoded ??= Buffer.from(canonical, 'base64');
      const deps = (FileDescriptorProto.decode(entry.encoded) as unknown as { dependency: string[] }).dependency;
      return { encoded: entry.encoded, deps: deps.map((d) => this.entry(d)).filter((d): d is FileEntry => d !== undefined) };
    }
    const header = this.headerOf?.(entry.name);
    const deps = new Set<FileEntry>();
    const reference = (target: ReflectionObject | null): void => {
      if (!target) return;
      const file = this.fileOf(target);
      if (file && file !== entry) deps.add(file);
    };
    const first = entry.objects[0];
    const pkg = first?.parent ? bare(first.parent.fullName) : '';
    const file: PlainDescriptor = {
      name: entry.name,
      messageType: [] as PlainDescriptor[],
      enumType: [] as PlainDescriptor[],
      service: [] as PlainDescriptor[],
      syntax: first ? syntaxOf(first, entry.name) : 'proto3',
    };
    if (pkg) file.package = pkg;
    for (const o of entry.objects) {
      if (isType(o)) (file.messageType as PlainDescriptor[]).push(this.message(o, reference));
      else if (isEnum(o)) (file.enumType as PlainDescriptor[]).push(this.enumDescriptor(o));
      else if (isService(o)) (file.service as PlainDescriptor[]).push(this.service(o, reference, header?.methodsWithBody ?? NO_METHODS));
    }
    if (header) {
      // as protoc: every import as written, in order (unused ones too), public and weak ones by index
      file.dependency = header.imports.map((i) => i.path);
      const pub = header.imports.flatMap((i, n) => (i.kind === 'public' ? [n] : []));
      const weak = header.imports.flatMap((i, n) => (i.kind === 'weak' ? [n] : []));
      if (pub.length > 0) file.publicDependency = pub;
      if (weak.length > 0) file.weakDependency = weak;
      const options = fileOptions(header);
      if (options) file.options = options;
      deps.clear();
      for (const i of header.imports) {
        const dep = this.entry(i.path);
        if (dep) deps.add(dep);
      }
    } else {
      file.dependency = [...deps].map((d) => d.name);
    }
    if (!entry.encoded) {
      entry.encoded = Buffer.from(FileDescriptorProto.encode(FileDescriptorProto.fromObject(file)).finish());
    }
    return { encoded: entry.encoded, deps: [...deps] };
  }

  private message(t: Type, reference: (o: ReflectionObject | null) => void): PlainDescriptor {
    const syntax = syntaxOf(t, this.fileOf(t)?.name);
    const fields: PlainDescriptor[] = [];
    const nestedTypes: PlainDescriptor[] = [];
    const enums: PlainDescriptor[] = [];
    const oneofs = t.oneofsArray;
    for (const f of t.fieldsArray) {
      f.resolve();
      const d: PlainDescriptor = {
        name: f.name,
        number: f.id,
        jsonName: typeof f.options?.json_name === 'string' ? f.options.json_name : protocJsonName(f.name),
      };
      if (isMapField(f)) {
        const entryName = mapEntryName(f.name);
        d.label = LABEL_REPEATED;
        d.type = TYPE_MESSAGE;
        d.typeName = `${t.fullName}.${entryName}`;
        const value: PlainDescriptor = { name: 'value', number: 2, label: LABEL_OPTIONAL, jsonName: 'value' };
        this.setType(value, f.type, f.resolvedType, reference);
        nestedTypes.push({
          name: entryName,
          field: [{ name: 'key', number: 1, label: LABEL_OPTIONAL, jsonName: 'key', type: SCALAR_TYPES[f.keyType] ?? 9 }, value],
          options: { mapEntry: true },
        });
      } else {
        d.label = f.repeated ? LABEL_REPEATED : f.required && syntax === 'proto2' ? LABEL_REQUIRED : LABEL_OPTIONAL;
        this.setType(d, f.type, f.resolvedType, reference);
      }
      if (f.partOf) {
        const index = oneofs.indexOf(f.partOf);
        if (index >= 0) d.oneofIndex = index;
        if (f.options?.proto3_optional === true) d.proto3Optional = true;
      }
      const options: PlainDescriptor = {};
      if (f.options?.deprecated === true) options.deprecated = true;
      if (f.options?.packed === false) options.packed = false;
      if (Object.keys(options).length > 0) d.options = options;
      fields.push(d);
    }
    for (const nested of t.nestedArray) {
      if (isType(nested)) nestedTypes.push(this.message(nested, reference));
      else if (isEnum(nested)) enums.push(this.enumDescriptor(nested));
    }
    const d: PlainDescriptor = {
      name: t.name,
      field: fields,
      nestedType: nestedTypes,
      enumType: enums,
      oneofDecl: oneofs.map((o) => ({ name: o.name })),
    };
    if (t.options?.deprecated === true) d.options = { deprecated: true };
    return d;
  }

  private setType(
    d: PlainDescriptor,
    type: string,
    resolved: Type | Enum | null,
    reference: (o: ReflectionObject | null) => void,
  ): void {
    const scalar = SCALAR_TYPES[type];
    if (scalar !== undefined && !resolved) {
      d.type = scalar;
      return;
    }
    if (!resolved) throw new Error(`unresolved type ${type}`);
    d.type = isEnum(resolved) ? TYPE_ENUM : TYPE_MESSAGE;
    d.typeName = resolved.fullName;
    reference(resolved);
  }

  private enumDescriptor(e: Enum): PlainDescriptor {
    const values = Object.entries(e.values).map(([name, number]) => ({ name, number }));
    const numbers = new Set(values.map((v) => v.number));
    const d: PlainDescriptor = { name: e.name, value: values };
    const options: PlainDescriptor = {};
    if (numbers.size < values.length) options.allowAlias = true;
    if (e.options?.deprecated === true) options.deprecated = true;
    if (Object.keys(options).length > 0) d.options = options;
    return d;
  }

  private service(s: Service, reference: (o: ReflectionObject | null) => void, withBody: ReadonlySet<string>): PlainDescriptor {
    return {
      name: s.name,
      method: s.methodsArray.map((m: Method) => {
        m.resolve();
        reference(m.resolvedRequestType);
        reference(m.resolvedResponseType);
        const d: PlainDescriptor = {
          name: m.name,
          inputType: m.resolvedRequestType?.fullName ?? `.${bare(m.requestType)}`,
          outputType: m.resolvedResponseType?.fullName ?? `.${bare(m.responseType)}`,
        };
        if (m.requestStream) d.clientStreaming = true;
        if (m.responseStream) d.serverStreaming = true;
        if (m.options?.deprecated === true) d.options = { deprecated: true };
        else if (withBody.has(`${s.name}.${m.name}`)) d.options = {};
        return d;
      }),
    };
  }
}
