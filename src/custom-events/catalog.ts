/**
 * The event catalog with AGS Extend's custom events in it: every rule on
 * `{ topic: NAME }` listens on the event `topic:NAME`, every rule on
 * `{ schedule: TASK }` on `schedule:TASK`. Both kinds resolve here (one
 * synthetic {@link EventService} per name), and the two wire services they
 * arrive on (`AsyncMessagingConsumerService/onMessage`,
 * `ScheduledTaskHandler/RunScheduledTask`) are in `services`, so the host
 * registers them with nothing copied into `proto/`. A user's own copy of
 * those protos in `PROTO_DIR` is replaced by these (same wire).
 */
import type { Catalog, EventCodec, EventService, ResolveResult } from '../events/index.js';
import type { Type } from 'protobufjs';
import {
  CONSUMER_FILE,
  CONSUMER_METHOD,
  CONSUMER_PATH,
  CONSUMER_SERVICE,
  RULES_VIEW_FILE,
  SCHEDULER_FILE,
  SCHEDULER_METHOD,
  SCHEDULER_PATH,
  SCHEDULER_SERVICE,
  customEventsRoot,
  customType,
} from './protos.js';
import { topicSchema } from './typed-topics.js';
import { decodeReceivedMessage, decodeScheduledTask, encodeReceivedMessage, encodeScheduledTask } from './events.js';

/** Prefix of a topic event's name (`topic:weekly-reset`). */
export const TOPIC_PREFIX = 'topic:';
/** Prefix of a scheduled task's event name (`schedule:weekly-reset-task`). */
export const SCHEDULE_PREFIX = 'schedule:';

/** The event name of a rule's `on` when it is `{ topic }` or `{ schedule }`; undefined for anything else. */
export function customOnName(on: unknown): string | undefined {
  if (!on || typeof on !== 'object' || Array.isArray(on)) return undefined;
  const o = on as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length !== 1) return undefined;
  if (typeof o.topic === 'string' && o.topic !== '') return `${TOPIC_PREFIX}${o.topic}`;
  if (typeof o.schedule === 'string' && o.schedule !== '') return `${SCHEDULE_PREFIX}${o.schedule}`;
  return undefined;
}

/** `topic:NAME` -> NAME; undefined for other names. */
export function topicOf(eventName: string): string | undefined {
  return eventName.startsWith(TOPIC_PREFIX) ? eventName.slice(TOPIC_PREFIX.length) : undefined;
}

/** `schedule:TASK` -> TASK; undefined for other names. */
export function scheduleOf(eventName: string): string | undefined {
  return eventName.startsWith(SCHEDULE_PREFIX) ? eventName.slice(SCHEDULE_PREFIX.length) : undefined;
}

/** The wire service a custom event arrives on (for the served set); the name itself for other events. */
export function wireServiceOf(fullName: string): string {
  if (fullName.startsWith(TOPIC_PREFIX)) return CONSUMER_SERVICE;
  if (fullName.startsWith(SCHEDULE_PREFIX)) return SCHEDULER_SERVICE;
  return fullName;
}

function wireService(fullName: string, method: string, path: string, requestTypeName: string, file: string): EventService {
  const dot = fullName.lastIndexOf('.');
  const type = customType(requestTypeName);
  return {
    fullName,
    name: fullName.slice(dot + 1),
    packageName: fullName.slice(0, dot),
    methodName: method,
    path,
    requestType: type,
    requestTypeName,
    eventName: type.name.charAt(0).toLowerCase() + type.name.slice(1),
    file,
  };
}

/** The service the sidecar calls for every message of every subscribed topic. */
export const consumerService: EventService = wireService(CONSUMER_SERVICE, CONSUMER_METHOD, CONSUMER_PATH, 'accelbyte.extend.async_messaging.ReceivedMessage', CONSUMER_FILE);
/** The service the Task Scheduler calls for every run of every task. */
export const schedulerService: EventService = wireService(SCHEDULER_SERVICE, SCHEDULER_METHOD, SCHEDULER_PATH, 'accelbyte.extend.task_scheduler.v1.ScheduledTaskRequest', SCHEDULER_FILE);

const topicServices = new Map<string, EventService>();
const scheduleServices = new Map<string, EventService>();

/** How many per-name (topic or task) event services are cached: one per name made, never pruned, so only names rules listen on may be made. */
export function cachedCustomServices(): number {
  return topicServices.size + scheduleServices.size;
}

function customService(prefix: string, name: string, wire: EventService, viewType: Type, cache: Map<string, EventService>): EventService {
  let s = cache.get(name);
  if (!s) {
    s = {
      fullName: `${prefix}${name}`,
      name,
      packageName: '',
      methodName: wire.methodName,
      path: wire.path,
      requestType: viewType,
      requestTypeName: viewType.fullName.slice(1),
      eventName: `${prefix}${name}`,
      file: RULES_VIEW_FILE,
    };
    cache.set(name, s);
  }
  return s;
}

/** The event of a topic (`topic:NAME`): what rules on `{ topic: NAME }` listen on. */
export function topicService(topic: string): EventService {
  return customService(TOPIC_PREFIX, topic, consumerService, customType('extend_event_rules.custom.v1.TopicEvent'), topicServices);
}

/** The event of a scheduled task (`schedule:TASK`). */
export function scheduleService(task: string): EventService {
  return customService(SCHEDULE_PREFIX, task, schedulerService, customType('extend_event_rules.custom.v1.ScheduledRun'), scheduleServices);
}

/** A name of the Task Scheduler's handler itself (full or short service name, method path, request type as event name). */
function isSchedulerName(name: string): boolean {
  return name === SCHEDULER_SERVICE || name === schedulerService.name || name === SCHEDULER_PATH || name === schedulerService.eventName || name === SCHEDULER_METHOD || name === `${SCHEDULER_SERVICE}/${SCHEDULER_METHOD}`;
}

/** Is this one of the custom-event services (wire or per name)? */
export function isCustomService(service: EventService): boolean {
  return service.fullName === CONSUMER_SERVICE || service.fullName === SCHEDULER_SERVICE || service.fullName.startsWith(TOPIC_PREFIX) || service.fullName.startsWith(SCHEDULE_PREFIX);
}

const topicCodec = (topic: string): EventCodec => ({ decode: decodeReceivedMessage, encode: (e) => encodeReceivedMessage(e, topic) });
const scheduleCodec = (task: string): EventCodec => ({ decode: decodeScheduledTask, encode: (e) => encodeScheduledTask(e, task) });

/** The codec of a custom-event service; undefined for other services. */
export function customCodec(service: EventService): EventCodec | undefined {
  if (service.fullName === CONSUMER_SERVICE) return topicCodec('');
  if (service.fullName === SCHEDULER_SERVICE) return scheduleCodec('');
  const topic = topicOf(service.fullName);
  if (topic !== undefined) return topicCodec(topic);
  const task = scheduleOf(service.fullName);
  if (task !== undefined) return scheduleCodec(task);
  return undefined;
}

/**
 * `base` with the custom events in it (see the module's comment). Resolves
 * `topic:NAME` and `schedule:TASK` for any non-empty name (whether AGS has the
 * topic is checked by `validate`'s name format only: topics live in the Admin
 * Portal).
 */
export interface CustomEventsOptions {
  /** Folder of topic schemas (`NAME.schema.json`, src/custom-events/typed-topics.ts). Default: none (bodies untyped). */
  readonly topicsDir?: string;
}

/** A catalog with the custom events: its topics' schema problems too (validate reports them). */
export interface CustomEventsCatalog extends Catalog {
  readonly customEvents: true;
  /** Why `topic`'s schema file is unusable, with the file; undefined when it is fine or absent. */
  topicSchemaProblem(topic: string): { file: string; problem: string } | undefined;
  /** `topic`'s usable schema, with its file (read once per catalog); undefined when there is none or it is unusable. */
  topicBodySchema(topic: string): { file: string; schema: Readonly<Record<string, unknown>> } | undefined;
}

export function withCustomEvents(catalog: Catalog, options: CustomEventsOptions = {}): CustomEventsCatalog {
  const wrapped = catalog as Partial<CustomEventsCatalog> & { customBase?: Catalog; topicsDir?: string };
  if (wrapped.customEvents && wrapped.topicsDir === options.topicsDir) return catalog as CustomEventsCatalog;
  const base = wrapped.customBase ?? catalog;
  type Typed = { service: EventService; problem?: { file: string; problem: string }; body?: { file: string; schema: Readonly<Record<string, unknown>> } };
  const typed = new Map<string, Typed>();
  const typedTopic = (topic: string): Typed => {
    let t = typed.get(topic);
    if (!t) {
      const schema = options.topicsDir !== undefined ? topicSchema(options.topicsDir, topic) : null;
      const plain = topicService(topic);
      t =
        schema?.type && schema.schema
          ? { service: { ...plain, requestType: schema.type, requestTypeName: schema.type.fullName.slice(1), file: schema.file }, body: { file: schema.file, schema: schema.schema } }
          : { service: plain, ...(schema?.problem ? { problem: { file: schema.file, problem: schema.problem } } : {}) };
      typed.set(topic, t);
    }
    return t;
  };
  const mine = new Set([CONSUMER_SERVICE, SCHEDULER_SERVICE]);
  const services = [...base.services.filter((s) => !mine.has(s.fullName)), consumerService, schedulerService];
  const skipped = base.skipped.filter((s) => !s.path.startsWith(`/${SCHEDULER_SERVICE}/`) && !s.path.startsWith(`/${CONSUMER_SERVICE}/`));
  return {
    customEvents: true,
    customBase: base,
    topicsDir: options.topicsDir,
    topicSchemaProblem: (topic: string) => typedTopic(topic).problem,
    topicBodySchema: (topic: string) => typedTopic(topic).body,
    dirs: base.dirs,
    files: base.files,
    services,
    skipped,
    header: (file) => base.header(file),
    resolve(name: string): ResolveResult {
      const topic = topicOf(name);
      if (topic !== undefined && topic !== '') return { ok: true, service: typedTopic(topic).service };
      const task = scheduleOf(name);
      if (task !== undefined && task !== '') return { ok: true, service: scheduleService(task) };
      if (name === CONSUMER_SERVICE || name === consumerService.name || name === CONSUMER_PATH || name === consumerService.eventName) return { ok: true, service: consumerService };
      // the Task Scheduler's handler is not an event: rules name a task (on: { schedule }); validate says so (src/rules/hints.ts)
      if (isSchedulerName(name)) return { ok: false, reason: 'unknown', candidates: [] };
      return base.resolve(name);
    },
    codec(service: EventService): EventCodec {
      return customCodec(service) ?? base.codec(service);
    },
    get root() {
      return base.root;
    },
    // reflection describes the wire services from the built-in protos (a copy in PROTO_DIR is replaced by them)
    builtInRoots: () => [customEventsRoot()],
  } as CustomEventsCatalog;
}
