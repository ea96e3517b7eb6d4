/** The JSON Schemas of a rule's `on` for custom events (rules.schema.json). */
import { TOPIC_NAME_MAX } from './limits.js';

export const CUSTOM_ON_SCHEMAS: readonly Record<string, unknown>[] = [
  {
    type: 'object',
    additionalProperties: false,
    required: ['topic'],
    properties: {
      topic: {
        description: 'An Extend Async Messaging topic (Admin Portal: Extend -> Event Topics; subscribe the Event Handler app to it). The event: `topic`, `metadata`, `body` (parsed as JSON, else the string), `bodyText`. `topics/NAME.schema.json` types `body`.',
        type: 'string',
        minLength: 1,
        maxLength: TOPIC_NAME_MAX,
      },
    },
  },
  {
    type: 'object',
    additionalProperties: false,
    required: ['schedule'],
    properties: {
      schedule: {
        description: 'A scheduled task name (`task_name` of the Extend Task Scheduler; Service Extension apps only). The event: `runId`, `taskId`, `taskName`, `namespace`, `scheduledTime`, `attemptNumber`, `payload` (parsed as JSON), `payloadText`. The rules run once per run id.',
        type: 'string',
        minLength: 1,
      },
    },
  },
];
