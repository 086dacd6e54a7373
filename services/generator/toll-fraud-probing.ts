/**
 * The `toll_fraud_probing` scenario of `cdr generate --inject`: the shape seen on real exports (issue 21
 * part 4) — 162 failed attempts to Israel and Poland within minutes from three registered users of one
 * client, a hacked PBX trying which international ranges it reaches before pumping traffic (IRSF).
 * Only fraud.failed_attempts must catch it: one attempt every 3 s for the client (no setup burst), none
 * answered (no spend, no hyper-short call), to ranges not on the high-risk list (no premium destination).
 */

export const PROBING_USERS = 3;
export const PROBING_ATTEMPTS = 162;
/** Seconds between two attempts of the client; the users take turns. */
const GAP_SECONDS = 3;

/** What the scenario needs of the generator's dice. */
export interface ProbingDice {
  int(lo: number, hi: number): number;
  float(): number;
  digits(n: number): string;
}

export interface ProbingAttempt {
  /** 0 … PROBING_USERS - 1 */
  user: number;
  /** Seconds after the start of the burst. */
  offset: number;
  callee: string;
  ring: number;
  disposition: 'no_answer' | 'busy' | 'failed' | 'rejected';
}

/**
 * The attempts: each user walks a few number blocks in sequence (+972 5x mobile, +48 22 Warsaw fixed),
 * as probing tools do, alternating countries; most fail at once, some ring a few seconds.
 */
export function tollFraudProbing(d: ProbingDice): ProbingAttempt[] {
  const blocks = Array.from({ length: PROBING_USERS * 2 }, (_, i) => ({
    prefix: i % 2 === 0 ? `+9725${d.int(0, 8)}${d.digits(3)}` : `+4822${d.digits(3)}`,
    next: d.int(0, 900),
  }));
  const out: ProbingAttempt[] = [];
  for (let i = 0; i < PROBING_ATTEMPTS; i++) {
    const user = i % PROBING_USERS;
    const block = blocks[user * 2 + (Math.floor(i / PROBING_USERS) % 2)]!;
    const callee = block.prefix + String(block.next++).padStart(4, '0');
    const u = d.float();
    const [disposition, ring] =
      u < 0.45 ? (['failed', d.int(0, 1)] as const) : u < 0.7 ? (['rejected', d.int(0, 2)] as const) : u < 0.85 ? (['busy', d.int(1, 3)] as const) : (['no_answer', d.int(4, 12)] as const);
    out.push({ user, offset: i * GAP_SECONDS, callee, ring, disposition });
  }
  return out;
}
