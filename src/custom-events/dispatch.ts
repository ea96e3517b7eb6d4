/**
 * Routes the calls of the two custom-event wire services to the events rules
 * listen on: a message of topic NAME to `topic:NAME`, a run of task TASK to
 * `schedule:TASK`. A message of a topic no rule listens on is answered OK and
 * counted (`event_rules_topic_messages_unrouted_total`): Extend delivers every
 * topic the app subscribes to. Its `topic` label is bounded (the topic is caller
 * data): topic names only, at most {@link UNROUTED_TOPICS_MAX}, the rest `(other)`. A run is answered with a
 * `ScheduledTaskResponse`: `success`, an HTTP-style `http_status_code` (200;
 * 503 when it should be retried; 500 when it failed with `onFailure: retry`;
 * 422 when an action was dead-lettered; 404 when no rule listens on the
 * task; see {@link scheduledTaskReply}), the outcome's
 * message, and `result_data` (JSON: run id, task, outcome).
 */
import type { DecodedEvent, EventService } from '../events/index.js';
import type { EventCall, EventHandler, EventOutcome } from '../contract/index.js';
import type { Logger } from '../telemetry/index.js';
import type { Metrics } from '../telemetry/index.js';
import { CONSUMER_SERVICE, SCHEDULER_SERVICE } from './protos.js';
import { SCHEDULE_PREFIX, TOPIC_PREFIX, scheduleService, topicService } from './catalog.js';
import { encodeScheduledTaskResponse } from './events.js';
import { TOPIC_NAME_MAX, TOPIC_NAME_PATTERN } from './limits.js';

/** Most distinct `topic` label values of `event_rules_topic_messages_unrouted_total` (the topic is caller data). */
export const UNROUTED_TOPICS_MAX = 100;
/** The `topic` label of an unrouted message whose topic is not a topic name, or once {@link UNROUTED_TOPICS_MAX} topics are counted. */
export const UNROUTED_OTHER = '(other)';

/** The label of an unrouted message's topic: its name while the set of labels stays bounded, else {@link UNROUTED_OTHER}. */
function unroutedLabel(topic: string, labelled: Set<string>): string {
  if (labelled.has(topic)) return topic;
  if (labelled.size >= UNROUTED_TOPICS_MAX || topic.length > TOPIC_NAME_MAX || !TOPIC_NAME_PATTERN.test(topic)) return UNROUTED_OTHER;
  labelled.add(topic);
  return topic;
}

export interface CustomEventRoutingOptions {
  /** The full names of the events the rules in force listen on (read per call: a reload applies to the next call). */
  readonly listenedOn: () => ReadonlySet<string>;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

const OK: EventOutcome = { kind: 'ok' };

/** `http_status_code` of a run whose actions were dead-lettered: a permanent failure (4xx: the same request fails again), never 5xx (the scheduler's retry signal). */
export const DEAD_LETTERED_STATUS = 422;

/**
 * The scheduler's answer for an outcome: `ok` -> success, 200; `ok` with
 * dead-lettered actions -> not a success, {@link DEAD_LETTERED_STATUS} (the
 * run is done: another attempt runs nothing and answers the same; the dead
 * letter is replayed with `extend-event-rules replay`); `retry` -> 503 (the
 * next attempt continues the run); `failed` (a permanent failure with
 * `onFailure: retry`: the rule asks for another attempt) -> 500; `refused` -> 409.
 */
export function scheduledTaskReply(event: DecodedEvent, outcome: EventOutcome, httpStatusCode?: number): EventOutcome {
  const deadLettered = outcome.kind === 'ok' ? (outcome.deadLettered ?? []) : [];
  const success = outcome.kind === 'ok' && deadLettered.length === 0;
  const status = httpStatusCode ?? (success ? 200 : outcome.kind === 'ok' ? DEAD_LETTERED_STATUS : outcome.kind === 'retry' ? 503 : outcome.kind === 'refused' ? 409 : 500);
  const message = outcome.kind !== 'ok' ? outcome.message : success ? 'done' : `failed for good, dead-lettered (not retried; replay the dead letter to run it again): ${deadLettered.map((d) => `${d.rule}/${d.action}${d.error !== undefined ? `: ${d.error}` : ''}`).join('; ')}`;
  const kind = outcome.kind === 'ok' && !success ? 'deadLettered' : outcome.kind;
  const reply = encodeScheduledTaskResponse({
    success,
    message,
    resultData: JSON.stringify({ runId: event.runId, taskName: event.taskName, attemptNumber: event.attemptNumber, outcome: kind, ...(deadLettered.length > 0 ? { deadLettered: deadLettered.map((d) => `${d.rule}/${d.action}`) } : {}) }),
    httpStatusCode: status,
  });
  return { kind: 'ok', reply };
}

/** `onEvent` with the custom-event wire services routed (see the module's comment); every other call goes through unchanged. */
export function routeCustomEvents(onEvent: EventHandler, options: CustomEventRoutingOptions): EventHandler {
  const labelled = new Set<string>();
  return (service: EventService, event: DecodedEvent, call: EventCall): EventOutcome | Promise<EventOutcome> => {
    if (service.fullName === CONSUMER_SERVICE) {
      const topic = typeof event.topic === 'string' ? event.topic : '';
      // the name is checked before a service is made for it: topicService caches one per name, and the topic is caller data
      if (topic !== '' && options.listenedOn().has(`${TOPIC_PREFIX}${topic}`)) return onEvent(topicService(topic), event, call);
      if (options.listenedOn().has(CONSUMER_SERVICE)) return onEvent(service, event, call);
      options.metrics?.topicMessagesUnrouted.inc({ topic: unroutedLabel(topic, labelled) });
      options.logger.debug({ topic }, `message of topic ${JSON.stringify(topic)}: no rule listens on it (answered OK)`);
      return OK;
    }
    if (service.fullName === SCHEDULER_SERVICE) {
      const task = typeof event.taskName === 'string' ? event.taskName : '';
      if (task === '' || !options.listenedOn().has(`${SCHEDULE_PREFIX}${task}`)) {
        options.logger.warn({ task, runId: event.runId }, `scheduled task ${JSON.stringify(task)}: no rule listens on it`);
        return scheduledTaskReply(event, { kind: 'failed', message: `no rule listens on the scheduled task ${JSON.stringify(task)} (on: { schedule: ${task || 'TASK_NAME'} })` }, 404);
      }
      const outcome = onEvent(scheduleService(task), event, call);
      return outcome instanceof Promise ? outcome.then((o) => scheduledTaskReply(event, o)) : scheduledTaskReply(event, outcome);
    }
    return onEvent(service, event, call);
  };
}
