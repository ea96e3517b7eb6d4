/**
 * AGS Extend's custom events in the rule language: rules on Extend Async
 * Messaging topics (`on: { topic: NAME }`), on the Task Scheduler's runs of a
 * Service Extension (`on: { schedule: TASK }`), and the `publishMessage`
 * action's publisher client. See docs/custom-events.md.
 */
export { withCustomEvents, customOnName, topicOf, scheduleOf, topicService, scheduleService, wireServiceOf, isCustomService, consumerService, schedulerService, TOPIC_PREFIX, SCHEDULE_PREFIX } from './catalog.js';
export type { CustomEventsCatalog, CustomEventsOptions } from './catalog.js';
export { routeCustomEvents, scheduledTaskReply, DEAD_LETTERED_STATUS } from './dispatch.js';
export type { CustomEventRoutingOptions } from './dispatch.js';
export {
  MESSAGE_ID_KEYS,
  PLAYER_ID_KEY,
  parseBody,
  messageKey,
  topicEvent,
  decodeReceivedMessage,
  bodyText,
  encodeReceivedMessage,
  encodePublishRequest,
  decodePublishRequest,
  decodeScheduledTask,
  encodeScheduledTask,
  encodeScheduledTaskResponse,
  decodeScheduledTaskResponse,
  customEventOwner,
  customEventFromData,
} from './events.js';
export type { ScheduledTaskResponse } from './events.js';
export { CONSUMER_SERVICE, CONSUMER_METHOD, CONSUMER_PATH, PUBLISHER_SERVICE, PUBLISHER_PATH, SCHEDULER_SERVICE, SCHEDULER_METHOD, SCHEDULER_PATH, customEventsRoot, customType, customProtoFiles } from './protos.js';
export { TOPIC_NAME_PATTERN, TOPIC_NAME_MAX, MESSAGE_BODY_MAX_BYTES, topicNameProblem, bodySizeProblem } from './limits.js';
export { CUSTOM_ON_SCHEMAS } from './schema.js';
export { TOPICS_FOLDER, topicSchema, topicSchemas, typedTopicEventType, topicBodyProblems } from './typed-topics.js';
export type { TopicSchema, BodyProblem } from './typed-topics.js';
export { publishMessage, publisherAddress, configurePublisher, closePublishers, PublishError, publishErrorOf, DEFAULT_PUBLISHER_PORT, PUBLISHER_PORT_ENV } from './publisher.js';
export type { PublishOptions } from './publisher.js';
