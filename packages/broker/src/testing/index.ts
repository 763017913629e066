/**
 * @brook/broker/testing: a kit for finding ack, redelivery and ordering bugs in consumer code.
 * `simulate` runs real handlers against the real broker on virtual time under a fault plan and
 * judges the history with Jepsen-style checkers; `explore` (with fast-check) searches seeds and
 * plans and shrinks a failing plan. For your own tests, `caughtUp` waits until a group has
 * nothing left, and `VirtualClock` runs a broker on the test's time. See docs/testing.md.
 */
export { caughtUp } from './caught-up.js';
// The clock to open a broker (or connect a client) on in a test: time moves when the test moves it.
export { VirtualClock } from '@brook/protocol';
export { simulate, SEED_ENV, PLAN_ENV, type Scenario, type SimulationOptions, type SimulationResult } from './simulate.js';
export type { AdminStep, ProduceStep } from './simulation.js';
export type { ConsumerContext, ConsumerSpec, SimDelivery, SimHandler } from './consumer.js';
export {
  checkFaultPlan, describeFault, FAULT_KINDS, type BrokerCrash, type CrashPoint, type Fault, type FaultKind, type FaultPlan, type RecordMatch, type Trigger,
} from './fault-plan.js';
export { randomPlan, type RandomPlanOptions } from './random-plan.js';
export {
  defaultCheckers, duplicateDelivery, duplicateEffect, hotLoop, lost, perKeyOrder, perPartitionOrder, stuck, unexpected, historySlice, formatViolation,
  type CheckInput, type CheckResult, type Checker, type Violation,
} from './checkers.js';
export { History, SIM_ID_HEADER, formatEvent, formatTime, laneOf, type HistoryEvent, type EndReason } from './history.js';
export { formatLanes, laneCell, LANES_HIDDEN, type LaneOptions } from './lanes.js';
export { countHistory, formatCounters, COUNTER_NAMES, type Counters } from './counters.js';
export { figure11_2Plan, figure11_2Scenario } from './examples/figure-11-2.js';
export { virtualTimers, type VirtualTimers, type VirtualTimeout } from './virtual-timers.js';
export { openWorld, ProcessClock, type World, type RestartOptions } from './world.js';
export { explore, faultPlanArbitrary, simulationProperty, type ExploreOptions, type ExploreResult } from './fast-check.js';
