/**
 * The protos of AGS Extend's custom events, as this product serves and calls
 * them: Extend Async Messaging (`AsyncMessagingConsumerService/onMessage`,
 * `AsyncMessagingPublisherService/PublishMessage`) and the Extend Task
 * Scheduler (`ScheduledTaskHandler/RunScheduledTask`). Written here from the
 * published definitions' field numbers and types (wire-compatible: same
 * packages, services, methods, field numbers and types), so nothing has to be
 * copied into `proto/`. Source of the wire contract: AccelByte's
 * `accelbyte/extend/async_messaging/*.proto` v1.0.0 and
 * `accelbyte/extend/task_scheduler/v1/task_scheduler.proto` v1.0.0 (in
 * `../shared/ags-event-specs` and AccelByte's Extend templates).
 *
 * `extend_event_rules.custom.v1.TopicEvent` and `ScheduledRun` are not on the
 * wire: they describe what rules see (path checks, samples, completion).
 */
import protobuf from 'protobufjs';
import type { Root, Type } from 'protobufjs';

export const ASYNC_MESSAGING_PACKAGE = 'accelbyte.extend.async_messaging';
/** The consumer service the Extend sidecar calls for each message of a subscribed topic. */
export const CONSUMER_SERVICE = `${ASYNC_MESSAGING_PACKAGE}.AsyncMessagingConsumerService`;
/** Its method: `onMessage`, lower-case o (AGS events use `OnMessage`). */
export const CONSUMER_METHOD = 'onMessage';
export const CONSUMER_PATH = `/${CONSUMER_SERVICE}/${CONSUMER_METHOD}`;
/** The publisher sidecar's service. */
export const PUBLISHER_SERVICE = `${ASYNC_MESSAGING_PACKAGE}.AsyncMessagingPublisherService`;
export const PUBLISHER_PATH = `/${PUBLISHER_SERVICE}/PublishMessage`;
/** The Task Scheduler's handler, implemented by a Service Extension app's main container. */
export const SCHEDULER_SERVICE = 'accelbyte.extend.task_scheduler.v1.ScheduledTaskHandler';
export const SCHEDULER_METHOD = 'RunScheduledTask';
export const SCHEDULER_PATH = `/${SCHEDULER_SERVICE}/${SCHEDULER_METHOD}`;

/** File names the types are declared under (for reflection and messages). */
export const CONSUMER_FILE = 'accelbyte/extend/async_messaging/consumer_service.proto';
export const PUBLISHER_FILE = 'accelbyte/extend/async_messaging/publisher_service.proto';
export const SCHEDULER_FILE = 'accelbyte/extend/task_scheduler/v1/task_scheduler.proto';
export const RULES_VIEW_FILE = 'extend_event_rules/custom/v1/custom_events.proto';

const FILES: ReadonlyArray<readonly [string, string]> = [
  [
    CONSUMER_FILE,
    `syntax = "proto3";
package accelbyte.extend.async_messaging;
import "google/protobuf/empty.proto";
// One message of a subscribed topic.
message ReceivedMessage {
  string body = 1;
  string topic = 2;
  map<string, string> metadata = 3;
}
service AsyncMessagingConsumerService {
  rpc onMessage(ReceivedMessage) returns (google.protobuf.Empty);
}
`,
  ],
  [
    PUBLISHER_FILE,
    `syntax = "proto3";
package accelbyte.extend.async_messaging;
import "google/protobuf/empty.proto";
// One message to publish to a topic.
message PublishMessageRequest {
  string body = 1;
  string topic = 2;
  map<string, string> metadata = 3;
}
service AsyncMessagingPublisherService {
  rpc PublishMessage(PublishMessageRequest) returns (google.protobuf.Empty);
}
`,
  ],
  [
    SCHEDULER_FILE,
    `syntax = "proto3";
package accelbyte.extend.task_scheduler.v1;
import "google/protobuf/timestamp.proto";
service ScheduledTaskHandler {
  rpc RunScheduledTask(ScheduledTaskRequest) returns (ScheduledTaskResponse);
}
message ScheduledTaskRequest {
  string run_id = 1;
  string task_id = 2;
  string namespace = 3;
  string task_name = 4;
  google.protobuf.Timestamp scheduled_time = 5;
  int32 attempt_number = 6;
  string payload = 7;
}
message ScheduledTaskResponse {
  bool success = 1;
  string message = 2;
  string result_data = 3;
  int32 http_status_code = 4;
}
`,
  ],
  [
    RULES_VIEW_FILE,
    `syntax = "proto3";
package extend_event_rules.custom.v1;
import "google/protobuf/struct.proto";
// What a rule on a topic sees.
message TopicEvent {
  // The idempotency key: the message id of the metadata, else sha256 of topic and body.
  string id = 1;
  string topic = 2;
  map<string, string> metadata = 3;
  // The body parsed as JSON (a body that is not JSON: the string).
  google.protobuf.Value body = 4;
  // The body as received.
  string bodyText = 5;
}
// What a rule on a scheduled task sees.
message ScheduledRun {
  // The run id: the idempotency key (one run, whatever the attempts).
  string id = 1;
  string runId = 2;
  string taskId = 3;
  string namespace = 4;
  string taskName = 5;
  string scheduledTime = 6;
  int32 attemptNumber = 7;
  // The payload parsed as JSON (not JSON: the string).
  google.protobuf.Value payload = 8;
  string payloadText = 9;
}
`,
  ],
];

let root: Root | undefined;

/** The parsed root of the custom-event protos (parsed once). */
export function customEventsRoot(): Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.addJSON(protobuf.common.get('google/protobuf/empty.proto')!.nested!);
  r.addJSON(protobuf.common.get('google/protobuf/timestamp.proto')!.nested!);
  r.addJSON(protobuf.common.get('google/protobuf/struct.proto')!.nested!);
  for (const [file, text] of FILES) {
    (protobuf.parse as unknown as { filename: string | null }).filename = file;
    try {
      protobuf.parse(text, r, { keepCase: true });
    } finally {
      (protobuf.parse as unknown as { filename: string | null }).filename = null;
    }
  }
  r.resolveAll();
  root = r;
  return r;
}

/** A message type of the custom-event protos by full name (`accelbyte.extend.async_messaging.ReceivedMessage`). */
export function customType(fullName: string): Type {
  return customEventsRoot().lookupType(fullName);
}

/** The `.proto` texts, by file name (the `proto` command and tests print or serve them). */
export function customProtoFiles(): ReadonlyMap<string, string> {
  return new Map(FILES);
}
