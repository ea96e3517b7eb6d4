/** `updateStat`: change a user's statistic (`updateUserStatItemValue`). */
import { ops } from '../../ags/index.js';
import { specEnum, specField } from '../../ags/index.js';
import type { StatItemUpdate, StatUpdateStrategy } from '../../ags/index.js';
import type { ActionDefinition } from '../types.js';
import {
  compact,
  namespaceOf,
  namespaceSchema,
  number,
  oneOf,
  optionalObject,
  optionalString,
  pathParam,
  planned,
  sendOp,
  short,
  specParam,
  userIdOf,
  userIdSchema,
} from './common.js';

const NAME = 'updateStat';
const STRATEGIES = specEnum('updateUserStatItemValue', 'updateStrategy') as readonly StatUpdateStrategy[];

export type UpdateStatParams = {
  namespace: string;
  userId: string;
  statCode: string;
  update: StatItemUpdate;
  additionalKey?: string;
};

const op = (p: UpdateStatParams) => ops.updateUserStatItemValue(p.namespace, p.userId, p.statCode, p.update, p.additionalKey);

export const updateStat: ActionDefinition<UpdateStatParams> = {
  name: NAME,
  description: 'Update a user\'s statistic (increment, max, min or override).',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['statCode', 'value'],
    properties: {
      statCode: { type: 'string', description: 'Statistic code.' },
      value: specParam(specField('updateUserStatItemValue', 'value'), { description: 'The number to add (INCREMENT) or compare/set.' }),
      updateStrategy: { enum: STRATEGIES, description: 'How value applies: INCREMENT adds, MAX/MIN keep the larger/smaller, OVERRIDE sets.', default: 'INCREMENT' },
      additionalKey: { type: 'string', description: 'Additional key of the stat item (query parameter).' },
      additionalData: { type: 'object', description: 'Extra data stored with the update.' },
      userId: userIdSchema,
      namespace: namespaceSchema,
    },
  },
  permission: 'ADMIN:NAMESPACE:{namespace}:USER:{userId}:STATITEM [UPDATE]',
  usesAgs: true,
  normalize(params, ctx) {
    return compact({
      namespace: namespaceOf(NAME, params, ctx),
      userId: userIdOf(NAME, params, ctx),
      statCode: pathParam(NAME, params, 'statCode'),
      update: compact({
        updateStrategy: oneOf(NAME, params, 'updateStrategy', STRATEGIES, 'INCREMENT'),
        value: number(NAME, params, 'value'),
        additionalData: optionalObject(NAME, params, 'additionalData'),
      }),
      additionalKey: optionalString(NAME, params, 'additionalKey'),
    });
  },
  plan(p) {
    return [planned(op(p))];
  },
  async execute(p, ctx) {
    const result = await sendOp(NAME, ctx, op(p));
    return { summary: `stat ${p.statCode} ${p.update.updateStrategy} ${p.update.value} for user ${short(p.userId)}`, detail: result };
  },
};
