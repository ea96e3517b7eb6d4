/**
 * `publishMessage`: publish a custom event to an Extend Async Messaging topic
 * through the publisher sidecar (`AsyncMessagingPublisherService/PublishMessage`
 * at `localhost:${ASYNC_MESSAGING_PUBLISHER_GRPC_PORT}`, default 7474; see
 * src/custom-events/publisher.ts). Claimed in the state store like every
 * action: at most one publish per (event, rule, action) across redeliveries,
 * replicas and restarts. The message carries `messageId` (the effect id of
 * the execution: the same for every attempt of it) and the trace context in
 * its `metadata`, so a receiver drops duplicates (this product's topic rules
 * key received messages by it). The sidecar has no lookup: an answer lost
 * after sending is an unknown outcome, dead-lettered `unknown-outcome`, never
 * sent twice. Topic name and body size are checked against what AGS accepts
 * (src/custom-events/limits.ts, with the sources).
 */
import { effectId } from '../reconcile.js';
import { ActionParamError } from '../errors.js';
import type { ActionDefinition } from '../types.js';
import { injectContext } from '../../telemetry/index.js';
import { bodySizeProblem, bodyText, publishMessage as publish, publisherAddress, topicNameProblem, PUBLISHER_PATH } from '../../custom-events/index.js';
import { optionalObject, requireString } from './common.js';

const NAME = 'publishMessage';
/** The metadata key of the message id (read back by receivers: src/custom-events/events.ts). */
export const MESSAGE_ID_METADATA_KEY = 'messageId';

export type PublishMessageParams = { topic: string; body: string; metadata: Record<string, string> };

export const publishMessageAction: ActionDefinition<PublishMessageParams> = {
  name: NAME,
  description: 'Publish a custom event (JSON body) to an Extend Async Messaging topic through the publisher sidecar; at most once per event, rule and action.',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['topic', 'body'],
    properties: {
      topic: { type: 'string', description: 'The topic, as created in the Admin Portal (Extend -> Event Topics): ASCII letters, digits, _ and -, at most 256 characters.' },
      body: { description: 'The message body: any JSON value (sent as its JSON text; a string is sent as is), at most 256 KiB.' },
      metadata: { type: 'object', additionalProperties: { type: 'string' }, description: 'Extra metadata (string values). `messageId` and the trace context are set by the action.' },
    },
  },
  usesAgs: false,
  normalize(params) {
    const topic = requireString(NAME, params, 'topic');
    const bad = topicNameProblem(topic);
    if (bad) throw new ActionParamError(NAME, 'topic', bad.message, bad.fix);
    if (params.body === undefined) throw new ActionParamError(NAME, 'body', 'is required');
    const body = bodyText(params.body);
    const tooLarge = bodySizeProblem(Buffer.byteLength(body, 'utf8'));
    if (tooLarge) throw new ActionParamError(NAME, 'body', tooLarge, 'publish a smaller body (an id to look up, not the data)');
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(optionalObject(NAME, params, 'metadata') ?? {})) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new ActionParamError(NAME, `metadata.${k}`, 'must be a string');
      metadata[k] = String(v);
    }
    return { topic, body, metadata };
  },
  plan(p) {
    return [{ operation: 'PublishMessage', method: 'POST', path: `grpc://${publisherAddress()}${PUBLISHER_PATH}`, body: { topic: p.topic, body: p.body, ...(Object.keys(p.metadata).length ? { metadata: p.metadata } : {}) } }];
  },
  async execute(p, ctx) {
    const id = effectId(ctx.idempotencyKey);
    const metadata: Record<string, string> = { ...p.metadata };
    injectContext(metadata);
    metadata[MESSAGE_ID_METADATA_KEY] = id;
    await publish(p.topic, p.body, metadata, {
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(ctx.inFlightSignal ? { inFlightSignal: ctx.inFlightSignal } : {}),
    });
    return { summary: `published message ${id} to topic ${p.topic}`, detail: { topic: p.topic, messageId: id } };
  },
};
