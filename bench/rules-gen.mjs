/**
 * Generated rules files for the bench. One rule per line in YAML flow style.
 */

const LOGIN_SERVICE = 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService';

/** The shipped rule (as in the README): grant an item on login in AB_NAMESPACE. */
export const SHIPPED_RULE =
  '- {name: grant-item-on-login, on: userLoggedIn, when: {"==": [{var: namespace}, "${env.AB_NAMESPACE}"]}, ' +
  'do: [{grantItem: {itemId: "${env.ITEM_ID_TO_GRANT}", quantity: 1, source: REWARD}}]}';

function file(lines) {
  return `version: 1\nrules:\n${lines.join('\n')}\n`;
}

/** Field names (json names) of a service's request type. */
function fieldsOf(service) {
  return new Set(
    Object.values(service.requestType.fields).map(
      (f) => f.options?.json_name ?? f.name.replace(/_+([a-zA-Z0-9])/g, (_m, c) => c.toUpperCase()),
    ),
  );
}

/**
 * Services a generated rule may target: with `namespace` and `userId` (the
 * conditions and grantItem's default user need them), other than the login
 * event, named by their event name when it is unambiguous.
 */
export function ruleTargets(catalog) {
  const out = [];
  for (const s of catalog.services) {
    if (s.fullName === LOGIN_SERVICE) continue;
    const f = fieldsOf(s);
    if (!f.has('namespace') || !f.has('userId')) continue;
    const r = catalog.resolve(s.eventName);
    out.push({ service: s, on: r.ok && r.service.fullName === s.fullName ? s.eventName : s.fullName });
  }
  return out;
}

/** A rule that does not match the bench events; shapes vary so the compiler sees more than one form. */
function otherRule(i, on) {
  const when = [
    `{"==": [{var: namespace}, n${i}]}`,
    `{in: [{var: userId}, [u${i}, v${i}]]}`,
    `{and: [{"==": [{var: namespace}, n${i}]}, {"!=": [{var: userId}, ""]}]}`,
    `{or: [{"==": [{var: userId}, u${i}]}, {"==": [{var: namespace}, n${i}]}]}`,
  ][i % 4];
  return `- {name: r${i}, on: ${on}, when: ${when}, do: [{grantItem: {itemId: i${i}}}]}`;
}

/**
 * (e): the shipped rule reading the player's state: its condition also reads
 * `count` (so every login is recorded in the player's history) and `fired`
 * (so its firings are recorded), and it still grants on every event. The bench
 * sends every event for one player: the worst case, a record at its bound.
 */
export const STATEFUL_RULE =
  '- {name: grant-item-on-login, on: userLoggedIn, when: {and: [{"==": [{var: namespace}, "${env.AB_NAMESPACE}"]}, ' +
  '{">=": [{count: [userLoggedIn, 24h]}, 1]}, {">=": [{fired: [grant-item-on-login, day, Asia/Tokyo]}, 0]}]}, ' +
  'do: [{grantItem: {itemId: "${env.ITEM_ID_TO_GRANT}", quantity: 1, source: REWARD}}]}';

export function statefulRules() {
  return file([STATEFUL_RULE]);
}

/** Only the shipped rule. */
export function shippedRules() {
  return file([SHIPPED_RULE]);
}

/**
 * (c): `total` rules over `events` events: `onLogin` of them on userLoggedIn
 * (the shipped grant rule, then rules whose conditions do not match), the
 * rest spread evenly over `events - 1` other events of the catalog.
 */
export function manyRules(catalog, { total = 1000, events = 100, onLogin = 10 } = {}) {
  const targets = ruleTargets(catalog);
  if (targets.length < events - 1) throw new Error(`only ${targets.length} usable events in the catalog`);
  const step = targets.length / (events - 1);
  const picked = Array.from({ length: events - 1 }, (_, k) => targets[Math.floor(k * step)]);
  const lines = [SHIPPED_RULE];
  for (let i = 1; i < onLogin; i++) lines.push(otherRule(i, 'userLoggedIn'));
  for (let i = onLogin; i < total; i++) lines.push(otherRule(i, picked[(i - onLogin) % picked.length].on));
  return { text: file(lines), events: 1 + picked.length, rules: lines.length };
}

/**
 * `total` rules for the 10,000-rule load test, compact: the 200 events with
 * the shortest names, and a JSON Logic condition on every third rule (the
 * others always match), ~0.9 MiB. The bench also times 10,000 rules of the (c)
 * shapes (`manyRules`, a condition on every rule, ~1.4 MiB). `realisticBytes`
 * is the size the (c) shapes over these events would have had.
 */
export function bulkRules(catalog, total = 10_000) {
  const all = ruleTargets(catalog);
  const targets = [...all].sort((a, b) => a.on.length - b.on.length || a.on.localeCompare(b.on)).slice(0, 200);
  const lines = [];
  let realisticBytes = 'version: 1\nrules:\n'.length;
  for (let i = 0; i < total; i++) {
    const on = targets[i % targets.length].on;
    lines.push(i % 3 === 0 ? otherRule(i, on) : `- {name: r${i}, on: ${on}, do: [{grantItem: {itemId: i${i}}}]}`);
    realisticBytes += otherRule(i, all[i % all.length].on).length + 1;
  }
  return { text: file(lines), events: targets.length, rules: total, realisticBytes };
}
