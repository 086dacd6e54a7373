/**
 * Lock levels of accounts, in the manner of rate-o-mat's: what a lock bars, set by an analyst on the desk
 * or by a policy, enforced at call setup (/api/v1/authorize) and published to switches that poll the
 * barring feed. Emergency numbers are never barred, whatever the level.
 */
export const LOCK_LEVELS = ['none', 'foreign', 'outgoing', 'all'] as const;
export type LockLevel = (typeof LOCK_LEVELS)[number];

/** What each level bars, as the page and the plain-text feed say it. */
export const LOCK_LEVEL_MEANING: Record<LockLevel, string> = {
  none: 'no lock',
  foreign: 'calls abroad barred (international and premium-rate foreign destinations)',
  outgoing: 'all outgoing calls barred (emergency numbers excepted)',
  all: 'all calls barred, incoming and outgoing (emergency numbers excepted)',
};
