/** The public surface of src/authoring: what other folders may import from it. */
export { readEventData } from './data.js';
export { EventDataError, RuleTestFormatError, UnknownEventError } from './errors.js';
export { historyFile } from './history.js';
export { factFixtures, parseRuleTests, runCase } from './rule-tests.js';
export type { RuleTestSuite } from './rule-tests.js';
export { buildEvent, planSteps, resolveEvent, RulesCache } from './workbench.js';
export type { PlannedStep } from './workbench.js';
