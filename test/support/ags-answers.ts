/**
 * The AGS stand-in's answers, shaped as AccelByte's OpenAPI specs document
 * them (every required field present, enums from the spec): one builder per
 * response schema. test/ags/spec-conformance.test.ts validates every answer
 * the stand-in gives against the specs, so these cannot drift silently.
 */

/** A store item of the stand-in; `type` is the AGS item type (default INGAMEITEM). */
export interface AnswerItem {
  readonly id: string;
  readonly sku?: string;
  readonly type?: string;
}

const stamp = (): string => new Date().toISOString();

/** `EntitlementSummary` of a granted item. */
export function entitlementSummary(id: string, item: AnswerItem, quantity: number, namespace: string, userId: string): Record<string, unknown> {
  const now = stamp();
  return {
    id,
    itemId: item.id,
    namespace,
    userId,
    clazz: 'ENTITLEMENT',
    type: 'CONSUMABLE',
    stackable: true,
    stackedUseCount: quantity,
    createdAt: now,
    updatedAt: now,
  };
}

/** `FulfillmentResult` of `fulfillItem`. */
export function fulfillmentResult(namespace: string, userId: string, summaries: readonly Record<string, unknown>[]): Record<string, unknown> {
  return { id: `fulfillment-${summaries.map((s) => String(s.id)).join('-')}`, namespace, userId, entitlementSummaries: summaries, creditSummaries: [], subscriptionSummaries: [] };
}

/** `FulfillmentV2Result` of `fulfillItemsV3`: `failed` items go to `stateInfo.failedList` and make the state FULFILL_FAILED. */
export function fulfillmentV2Result(
  namespace: string,
  userId: string,
  transactionId: string,
  granted: ReadonlyArray<{ item: AnswerItem; quantity: number; summary: Record<string, unknown> }>,
  failed: ReadonlyArray<{ itemId?: string; itemSku?: string; error: string }> = [],
): Record<string, unknown> {
  return {
    id: `fulfillment-${transactionId}`,
    transactionId,
    namespace,
    userId,
    state: failed.length === 0 ? 'FULFILLED' : 'FULFILL_FAILED',
    ...(failed.length ? { stateReason: 'some items failed' } : {}),
    items: granted.map((g) => ({ itemId: g.item.id, ...(g.item.sku ? { itemSku: g.item.sku } : {}), itemType: g.item.type ?? 'INGAMEITEM', quantity: g.quantity })),
    stateInfo: {
      successList: granted.map((g) => ({ itemId: g.item.id, ...(g.item.sku ? { itemSku: g.item.sku } : {}) })),
      failedList: failed.map((f) => ({ ...f })),
    },
    entitlementSummaries: granted.map((g) => g.summary),
    creditSummaries: [],
    subscriptionSummaries: [],
  };
}

/** `StackableEntitlementInfo` of `grantUserEntitlement`. */
export function stackableEntitlementInfo(id: string, grant: Record<string, unknown>, item: AnswerItem, userId: string): Record<string, unknown> {
  const now = stamp();
  return {
    id,
    itemId: grant.itemId,
    itemNamespace: grant.itemNamespace,
    namespace: grant.itemNamespace,
    userId,
    clazz: item.type === 'APP' ? 'APP' : 'ENTITLEMENT',
    type: 'CONSUMABLE',
    status: 'ACTIVE',
    stackable: true,
    useCount: grant.quantity,
    stackedUseCount: grant.quantity,
    source: grant.source ?? 'OTHER',
    createdAt: now,
    updatedAt: now,
    grantedAt: now,
  };
}

/** `WalletInfo` of `creditUserWallet`. */
export function walletInfo(namespace: string, userId: string, currencyCode: string, balance: number): Record<string, unknown> {
  const now = stamp();
  return {
    id: `wallet-${currencyCode}-${userId.slice(0, 8)}`,
    namespace,
    userId,
    currencyCode,
    currencySymbol: currencyCode.slice(0, 1),
    balance,
    balanceOrigin: 'System',
    status: 'ACTIVE',
    createdAt: now,
    updatedAt: now,
  };
}

/** `StatItemIncResult` of `updateUserStatItemValue`. */
export function statItemIncResult(currentValue: number): Record<string, unknown> {
  return { currentValue };
}

/** `model.UserBanResponseV3` of `AdminBanUserV3`. */
export function userBanResponseV3(ban: Record<string, unknown>, banId: string, namespace: string, userId: string): Record<string, unknown> {
  const now = stamp();
  return {
    ban: ban.ban,
    banId,
    bannedBy: { displayName: 'extend-event-rules', userId: '00000000000000000000000000000000' },
    comment: ban.comment,
    createdAt: now,
    disabledDate: now,
    enabled: true,
    endDate: new Date(Date.parse(String(ban.endDate))).toISOString(),
    namespace,
    reason: ban.reason,
    userId,
  };
}

/** `UserSeasonSummary` of `grantUserExp`. */
export function userSeasonSummary(namespace: string, userId: string, currentExp: number): Record<string, unknown> {
  return { id: `user-season-${userId.slice(0, 8)}`, namespace, userId, seasonId: 'season-1', currentTierIndex: 0, lastTierIndex: -1, requiredExp: 100, currentExp, cleared: false };
}

/** `models.PlayerRecordResponse` of the player record calls. */
export function playerRecordResponse(namespace: string, userId: string, key: string, value: Record<string, unknown>, createdAt: string): Record<string, unknown> {
  return { key, namespace, user_id: userId, value, is_public: false, set_by: 'SERVER', tags: [], created_at: createdAt, updated_at: stamp() };
}

/** group.json `models.GetUserGroupInformationResponseV1` (required: groupId, joinedAt, memberRoleId, userId). */
export function userGroupInformation(groupId: string, userId: string, member: { readonly status?: string; readonly memberRoleId?: readonly string[] }): Record<string, unknown> {
  return { groupId, userId, status: member.status ?? 'JOINED', memberRoleId: [...(member.memberRoleId ?? [])], joinedAt: stamp() };
}
