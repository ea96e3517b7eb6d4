/** `grantSeasonExp`: add season pass experience to a user (`grantUserExp`, current season). */
import { ops } from '../../ags/index.js';
import { specEnum, specField, specIntegerRange } from '../../ags/index.js';
import type { UserExpGrant } from '../../ags/index.js';
import { ActionParamError } from '../errors.js';
import type { ActionDefinition } from '../types.js';
import { integer, namespaceOf, namespaceSchema, oneOf, planned, sendOp, short, specParam, userIdOf, userIdSchema } from './common.js';

const NAME = 'grantSeasonExp';
const EXP = specIntegerRange('grantUserExp', 'exp', 1);
const SOURCES = specEnum('grantUserExp', 'source') as ReadonlyArray<'SWEAT' | 'PAID_FOR'>;

export type GrantSeasonExpParams = { namespace: string; userId: string; grant: UserExpGrant };

export const grantSeasonExp: ActionDefinition<GrantSeasonExpParams> = {
  name: NAME,
  description: 'Grant season pass experience (current season) to a user.',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['exp'],
    properties: {
      exp: specParam(specField('grantUserExp', 'exp'), { description: `Experience to add (${EXP.minimum} to ${EXP.maximum}).` }, EXP),
      source: specParam(specField('grantUserExp', 'source'), { description: 'SWEAT: earned by playing; PAID_FOR: bought.', default: 'SWEAT' }),
      tags: { type: 'array', items: { type: 'string' }, description: 'Tags kept with the grant.' },
      userId: userIdSchema,
      namespace: namespaceSchema,
    },
  },
  permission: 'ADMIN:NAMESPACE:{namespace}:USER:{userId}:SEASONPASS [UPDATE]',
  usesAgs: true,
  normalize(params, ctx) {
    const tags = params.tags;
    if (tags !== undefined && (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string'))) {
      throw new ActionParamError(NAME, 'tags', 'must be a list of strings', 'write e.g. tags: [login, bonus]');
    }
    return {
      namespace: namespaceOf(NAME, params, ctx),
      userId: userIdOf(NAME, params, ctx),
      grant: {
        exp: integer(NAME, params, 'exp', undefined, EXP),
        source: oneOf(NAME, params, 'source', SOURCES, 'SWEAT'),
        ...(tags !== undefined ? { tags: tags as string[] } : {}),
      },
    };
  },
  plan(p) {
    return [planned(ops.grantUserExp(p.namespace, p.userId, p.grant))];
  },
  async execute(p, ctx) {
    const result = await sendOp(NAME, ctx, ops.grantUserExp(p.namespace, p.userId, p.grant));
    return { summary: `granted ${p.grant.exp} season exp to user ${short(p.userId)}`, detail: result };
  },
};
