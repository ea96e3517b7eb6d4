/** `banUser`: ban a user (`AdminBanUserV3`). `endDate`, or `duration` counted from now. */
import { ops } from '../../ags/index.js';
import type { BanCreate } from '../../ags/index.js';
import { ActionParamError } from '../errors.js';
import type { ActionDefinition } from '../types.js';
import { bool, namespaceOf, namespaceSchema, optionalDateTime, optionalString, planned, requireString, sendOp, short, userIdOf, userIdSchema } from './common.js';
import { DURATION_SYNTAX, durationMs, suggestDuration } from '../../time/index.js';

const NAME = 'banUser';

export type BanUserParams = { namespace: string; userId: string; ban: BanCreate };

export const banUser: ActionDefinition<BanUserParams> = {
  name: NAME,
  description: 'Ban a user until endDate, or for a duration from now.',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['ban', 'reason'],
    properties: {
      ban: { type: 'string', description: 'Ban type, e.g. CHAT_SEND, CHAT_ALL, LOGIN, MATCHMAKING, STATISTICS, LEADERBOARD, ORDER_AND_PAYMENT.' },
      reason: { type: 'string', description: 'Ban reason, e.g. VIOLENCE, HARASSMENT, HATEFUL_CONDUCT, OFFENSIVE_USERNAME, CHEATING, TOS_VIOLATION.' },
      comment: { type: 'string', description: 'Comment kept with the ban. Default: `Banned by rule "<rule>"`.' },
      endDate: { type: 'string', description: 'End of the ban (RFC 3339). Give endDate or duration.' },
      duration: { type: 'string', description: `Length of the ban from now, > 0: ${DURATION_SYNTAX}. Give endDate or duration.` },
      skipNotif: { type: 'boolean', description: 'Do not notify the user.', default: false },
      userId: userIdSchema,
      namespace: namespaceSchema,
    },
  },
  permission: 'ADMIN:NAMESPACE:{namespace}:BAN:USER:{userId} [CREATE]',
  usesAgs: true,
  normalize(params, ctx) {
    const endDate = optionalString(NAME, params, 'endDate');
    const duration = optionalString(NAME, params, 'duration');
    if ((endDate === undefined) === (duration === undefined)) {
      throw new ActionParamError(
        NAME,
        '',
        endDate === undefined ? 'needs endDate or duration' : 'takes endDate or duration, not both',
        endDate === undefined ? 'add duration: P7D (or endDate: 2026-12-01T00:00:00Z)' : 'keep one of endDate, duration',
      );
    }
    let end: string;
    if (duration !== undefined) {
      const ms = durationMs(duration);
      if (ms === undefined || !(ms > 0)) throw new ActionParamError(NAME, 'duration', `"${duration}" is not a duration above zero`, `${suggestDuration(duration) !== undefined ? `did you mean "${suggestDuration(duration)}"? ` : ''}write ${DURATION_SYNTAX}`);
      end = new Date((ctx.now ?? Date.now)() + ms).toISOString();
    } else {
      end = new Date(Date.parse(optionalDateTime(NAME, params, 'endDate')!)).toISOString();
    }
    return {
      namespace: namespaceOf(NAME, params, ctx),
      userId: userIdOf(NAME, params, ctx),
      ban: {
        ban: requireString(NAME, params, 'ban'),
        comment: optionalString(NAME, params, 'comment') ?? `Banned by rule "${ctx.rule}"`,
        endDate: end,
        reason: requireString(NAME, params, 'reason'),
        skipNotif: bool(NAME, params, 'skipNotif', false),
      },
    };
  },
  plan(p) {
    return [planned(ops.adminBanUserV3(p.namespace, p.userId, p.ban))];
  },
  async execute(p, ctx) {
    const result = await sendOp(NAME, ctx, ops.adminBanUserV3(p.namespace, p.userId, p.ban));
    return { summary: `banned user ${short(p.userId)} (${p.ban.ban}) until ${p.ban.endDate}`, detail: result };
  },
};
