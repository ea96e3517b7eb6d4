/**
 * The event catalog's public shapes. A catalog is built once from the `.proto`
 * files under `PROTO_DIR`; everything downstream (rules, server, CLI) reads
 * events through these types only.
 */
import type { ProtoHeader } from './proto-header.js';
import type { Root, Type } from 'protobufjs';

/** A decoded event: plain JSON keyed by the proto `json_name`s (camelCase). */
export type DecodedEvent = Record<string, unknown>;

/** One unary method of one loaded service: what the sidecar calls. */
export interface EventService {
  /** `accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService` */
  readonly fullName: string;
  /** `UserAuthenticationUserLoggedInService` */
  readonly name: string;
  /** `accelbyte.iam.account.v1` */
  readonly packageName: string;
  /** `OnMessage` */
  readonly methodName: string;
  /** `/accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService/OnMessage` */
  readonly path: string;
  /** The request message type (`UserLoggedIn`). */
  readonly requestType: Type;
  /** Full name of the request type, without leading dot. */
  readonly requestTypeName: string;
  /** The event name users write: the request message name in lowerCamelCase (`userLoggedIn`). */
  readonly eventName: string;
  /** Path of the `.proto` file the service was declared in, relative to its proto dir. */
  readonly file: string;
}

/** Encodes and decodes one event message. Built once per service; hot path. */
export interface EventCodec {
  /** Wire bytes -> plain object (json names, defaults filled, enums as names, int64 as numbers). Throws {@link EventDecodeError}. */
  decode(bytes: Uint8Array): DecodedEvent;
  /**
   * Only the named top-level fields and `id` (json names), checked as {@link decode} checks the whole
   * message (throws {@link EventDecodeError} on the same bytes) and valued as it values them; undefined
   * when one of them is not a plain string field (decode the whole event then). For events decided on
   * such fields alone (`RuleSet.decidedOn`).
   */
  decodeFields?(bytes: Uint8Array, names: readonly string[]): DecodedEvent | undefined;
  /** Plain object (json names or proto names) -> wire bytes. Throws {@link EventEncodeError} on a value that does not fit. */
  encode(event: DecodedEvent): Uint8Array;
}

export type ResolveResult =
  | { readonly ok: true; readonly service: EventService }
  | { readonly ok: false; readonly reason: 'unknown' | 'ambiguous'; readonly candidates: readonly string[] };

/** A method of a loaded service that is not served as an event. */
export interface SkippedMethod {
  /** `/<package>.<Service>/<Method>`. */
  readonly path: string;
  /** Why, for the start-up log (`answers ScheduledTaskResponse, not google.protobuf.Empty`). */
  readonly reason: string;
}

/** Every event service loaded from the proto directories. Immutable once built. */
export interface Catalog {
  /** The proto directories the catalog was loaded from (absolute). */
  readonly dirs: readonly string[];
  /** The `.proto` files loaded, relative to their dir (`accelbyte/iam/account/v1/account.proto`). */
  readonly files: readonly string[];
  /** Every unary method of every service, in file then declaration order. */
  readonly services: readonly EventService[];
  /**
   * Methods of the loaded services that are not served as events, with why:
   * streaming methods, and methods answering anything but
   * `google.protobuf.Empty` (e.g. `ScheduledTaskHandler/RunScheduledTask`,
   * whose caller reads an empty answer as `success=false`): a generic host
   * cannot know what to answer.
   */
  readonly skipped: readonly SkippedMethod[];
  /** The imports and file options of a loaded `.proto` (relative name) as written in it; undefined for a file not loaded from the proto dirs. */
  header(file: string): ProtoHeader | undefined;
  /** Find a service by full name, short service name, event name (`userLoggedIn`) or method path. */
  resolve(name: string): ResolveResult;
  /** The codec of a service's request type (built once, cached). */
  codec(service: EventService): EventCodec;
  /** The protobufjs root holding every loaded type (for reflection and path checks). */
  readonly root: Root;
  /**
   * Roots of the types the product builds in beside the loaded protos (the
   * custom events' wire services, src/custom-events/protos.ts), so reflection
   * describes every service it lists. Their symbols win over a loaded copy of
   * the same names. Default: none.
   */
  readonly builtInRoots?: () => readonly Root[];
}

/** A message that could not be decoded: answered INVALID_ARGUMENT at the gRPC boundary. */
export class EventDecodeError extends Error {
  override readonly name = 'EventDecodeError';
  constructor(
    readonly typeName: string,
    readonly reason: string,
  ) {
    super(`cannot decode ${typeName}: ${reason}`);
  }
}

/** A JSON value that does not fit the event message (samples, send, tests). */
export class EventEncodeError extends Error {
  override readonly name = 'EventEncodeError';
  constructor(
    readonly typeName: string,
    readonly reason: string,
    /** Where in the JSON, in json names (`payload.userAccount.userId`, `items[0]`); '' for the whole value. */
    readonly path?: string,
    /** What the field accepts (`a string`, `an int64 (integer or decimal string)`, `one of A, B`). */
    readonly expected?: string,
  ) {
    super(`the JSON does not fit ${typeName}: ${reason}`);
  }
}

/** The catalog could not be loaded (a proto that does not parse, a missing import, no dir). */
export class CatalogLoadError extends Error {
  override readonly name = 'CatalogLoadError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`cannot load ${file}: ${reason}`);
  }
}
