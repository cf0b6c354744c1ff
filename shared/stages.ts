/**
 * Named points between the durable steps of a hunt cycle and of a delivery. Production passes no
 * hook; the fault-injection test (test/chaos) passes one that lets its parent SIGKILL the process
 * exactly there, to prove that a crash between any two steps loses nothing and repeats nothing.
 */
export type Stage =
  | 'lease-taken'
  | 'origin-recorded'
  | 'window-queried'
  | 'incidents-stored'
  | 'notifications-enqueued'
  | 'incidents-marked'
  | 'checkpoint-advanced'
  | 'run-recorded'
  | 'delivery-claimed'
  | 'delivery-posted'
  | 'revision-recorded'
  | 'delivery-recorded';

export const STAGES: readonly Stage[] = [
  'lease-taken',
  'origin-recorded',
  'window-queried',
  'incidents-stored',
  'notifications-enqueued',
  'incidents-marked',
  'checkpoint-advanced',
  'run-recorded',
  'delivery-claimed',
  'delivery-posted',
  'revision-recorded',
  'delivery-recorded',
];

/** Called when a stage is reached; may take its time (the test's parent decides whether to kill). */
export type StageHook = (stage: Stage) => Promise<void>;
