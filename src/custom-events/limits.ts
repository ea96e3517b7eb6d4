/**
 * What AGS accepts of a topic name and a message body, checked at `validate`
 * (`on: { topic }`, `publishMessage`).
 *
 * Source: AccelByte's "Extend Asynchronous Messaging" docs
 * (https://docs.accelbyte.io/gaming-services/modules/foundations/extend/data-and-messaging/extend-async-messaging/,
 * July 2026) create topics in the Admin Portal and publish through the
 * publisher sidecar; its `PublishMessageRequest.topic` is, per the published
 * proto's comment, joined to `MANAGED_QUEUE_SNS_TOPIC_ARN_BASE` "to construct
 * the actual SNS ARN": an Amazon SNS topic. Amazon SNS's `CreateTopic`
 * constraints (https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html):
 * "made up of only uppercase and lowercase ASCII letters, numbers,
 * underscores, and hyphens, and must be between 1 and 256 characters long";
 * SNS's largest message is 256 KiB (262,144 bytes,
 * https://docs.aws.amazon.com/sns/latest/dg/large-message-payloads.html).
 * The ARN base takes part of the 256 characters; AccelByte publishes no
 * shorter limit, so 256 is the bound checked here.
 */

/** Characters of a topic name (Amazon SNS topic names). */
export const TOPIC_NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
/** Longest topic name, characters. */
export const TOPIC_NAME_MAX = 256;
/** Largest message body, bytes of UTF-8 (Amazon SNS: 256 KiB). */
export const MESSAGE_BODY_MAX_BYTES = 262_144;

/** Why `name` is not a topic name AGS accepts, with a fix; undefined when it is. */
export function topicNameProblem(name: string): { message: string; fix: string } | undefined {
  if (name.length > TOPIC_NAME_MAX) return { message: `topic name is ${name.length} characters: AGS topics (Amazon SNS) take at most ${TOPIC_NAME_MAX}`, fix: 'use a shorter name, as created in the Admin Portal (Extend -> Event Topics)' };
  if (!TOPIC_NAME_PATTERN.test(name)) {
    return { message: `topic name ${JSON.stringify(name)} has characters other than ASCII letters, digits, _ and -: AGS topics (Amazon SNS) refuse them`, fix: `write it as created in the Admin Portal (Extend -> Event Topics), e.g. ${JSON.stringify(name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'weekly-reset')}` };
  }
  return undefined;
}

/** Why a body of `bytes` bytes is too large, or undefined. */
export function bodySizeProblem(bytes: number): string | undefined {
  return bytes > MESSAGE_BODY_MAX_BYTES ? `the body is ${bytes} bytes: AGS messages (Amazon SNS) take at most ${MESSAGE_BODY_MAX_BYTES} (256 KiB)` : undefined;
}
