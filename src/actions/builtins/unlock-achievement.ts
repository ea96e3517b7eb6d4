/** `unlockAchievement`: unlock an achievement for a user (`AdminUnlockAchievement`). */
import { ops } from '../../ags/index.js';
import type { ActionDefinition } from '../types.js';
import { namespaceOf, namespaceSchema, pathParam, planned, sendOp, short, userIdOf, userIdSchema } from './common.js';

const NAME = 'unlockAchievement';

export type UnlockAchievementParams = { namespace: string; userId: string; achievementCode: string };

export const unlockAchievement: ActionDefinition<UnlockAchievementParams> = {
  name: NAME,
  description: 'Unlock an achievement for a user (safe to repeat).',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['achievementCode'],
    properties: {
      achievementCode: { type: 'string', description: 'Achievement code.' },
      userId: userIdSchema,
      namespace: namespaceSchema,
    },
  },
  permission: 'ADMIN:NAMESPACE:{namespace}:USER:{userId}:ACHIEVEMENT [UPDATE]',
  usesAgs: true,
  normalize(params, ctx) {
    return {
      namespace: namespaceOf(NAME, params, ctx),
      userId: userIdOf(NAME, params, ctx),
      achievementCode: pathParam(NAME, params, 'achievementCode'),
    };
  },
  plan(p) {
    return [planned(ops.adminUnlockAchievement(p.namespace, p.userId, p.achievementCode))];
  },
  async execute(p, ctx) {
    await sendOp(NAME, ctx, ops.adminUnlockAchievement(p.namespace, p.userId, p.achievementCode));
    return { summary: `unlocked achievement ${p.achievementCode} for user ${short(p.userId)}` };
  },
};
