/** `writePlayerRecord`: write a cloud save player record, replacing it (PUT) or merging into it (`merge: true`, POST). */
import { ops } from '../../ags/index.js';
import { ActionParamError } from '../errors.js';
import type { ActionDefinition } from '../types.js';
import { bool, namespaceOf, namespaceSchema, optionalObject, pathParam, planned, sendOp, short, userIdOf, userIdSchema } from './common.js';

const NAME = 'writePlayerRecord';

export type WritePlayerRecordParams = { namespace: string; userId: string; key: string; value: Record<string, unknown>; merge: boolean };

const op = (p: WritePlayerRecordParams) =>
  p.merge ? ops.adminPostPlayerRecordHandlerV1(p.namespace, p.userId, p.key, p.value) : ops.adminPutPlayerRecordHandlerV1(p.namespace, p.userId, p.key, p.value);

export const writePlayerRecord: ActionDefinition<WritePlayerRecordParams> = {
  name: NAME,
  description: 'Write a cloud save player record (replace, or merge with merge: true).',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['key', 'value'],
    properties: {
      key: { type: 'string', description: 'Record key.' },
      value: { type: 'object', description: 'The record (a JSON object).' },
      merge: { type: 'boolean', description: 'Merge into the existing record (POST) instead of replacing it (PUT).', default: false },
      userId: userIdSchema,
      namespace: namespaceSchema,
    },
  },
  permission: 'ADMIN:NAMESPACE:{namespace}:USER:{userId}:CLOUDSAVE:RECORD [CREATE,UPDATE]',
  usesAgs: true,
  normalize(params, ctx) {
    const value = optionalObject(NAME, params, 'value');
    if (value === undefined) throw new ActionParamError(NAME, 'value', 'is required (a JSON object)');
    return {
      namespace: namespaceOf(NAME, params, ctx),
      userId: userIdOf(NAME, params, ctx),
      key: pathParam(NAME, params, 'key'),
      value,
      merge: bool(NAME, params, 'merge', false),
    };
  },
  plan(p) {
    return [planned(op(p))];
  },
  async execute(p, ctx) {
    const result = await sendOp(NAME, ctx, op(p));
    return { summary: `${p.merge ? 'merged into' : 'wrote'} record ${p.key} of user ${short(p.userId)}`, detail: result };
  },
};
