/** The built-in actions and the registry holding them all. */
import { ActionRegistry } from '../registry.js';
import { banUser } from './ban-user.js';
import { creditWallet } from './credit-wallet.js';
import { grantEntitlement } from './grant-entitlement.js';
import { grantItem } from './grant-item.js';
import { grantSeasonExp } from './grant-season-exp.js';
import { httpAction } from './http.js';
import { logAction } from './log.js';
import { notifyUser } from './notify-user.js';
import { publishMessageAction } from './publish-message.js';
import { unlockAchievement } from './unlock-achievement.js';
import { updateStat } from './update-stat.js';
import { writePlayerRecord } from './write-player-record.js';

export { banUser, creditWallet, grantEntitlement, grantItem, grantSeasonExp, httpAction, logAction, notifyUser, publishMessageAction, unlockAchievement, updateStat, writePlayerRecord };
export { grantedNothing } from './grant-item.js';
export { isSecretHeader, redactHeaders } from './http.js';
export { parseDuration } from './duration.js';

/** A registry with every built-in action, in documentation order. */
export function createDefaultRegistry(): ActionRegistry {
  return new ActionRegistry()
    .register(grantItem)
    .register(grantEntitlement)
    .register(creditWallet)
    .register(updateStat)
    .register(unlockAchievement)
    .register(notifyUser)
    .register(banUser)
    .register(grantSeasonExp)
    .register(writePlayerRecord)
    .register(httpAction)
    .register(publishMessageAction)
    .register(logAction);
}
