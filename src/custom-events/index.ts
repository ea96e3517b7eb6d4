/**
 * AGS Extend's custom events in the rule language: rules on Extend Async
 * Messaging topics (`on: { topic: NAME }`), on the Task Scheduler's runs of a
 * Service Extension (`on: { schedule: TASK }`), and the `publishMessage`
 * action's publisher client. See docs/custom-events.md.
 */
export { withCustomEvents, customOnName, topicOf, scheduleOf, topicService, scheduleService, wireServiceOf, isCustomService, consumerService, schedulerService, TOPIC_PREFIX, SCHEDULE_PREFIX } from './catalog.js';
export { routeCustomEvents, scheduledTaskReply } from './dispatch.js';
export type { CustomEventRoutingOptions } from './dispatch.js';
export * from './events.js';
export * from './protos.js';
export * from './limits.js';
export { publishMessage, publisherAddress, configurePublisher, closePublishers, PublishError, publishErrorOf, DEFAULT_PUBLISHER_PORT, PUBLISHER_PORT_ENV } from './publisher.js';
export type { PublishOptions } from './publisher.js';
