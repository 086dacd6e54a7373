/**
 * The redirect reason and OnBehalfOf codes of Cisco Unified CM CDRs, as the CDR Administration Guide
 * lists them ("Cisco Call Detail Records Codes": Redirect Reason Codes, OnBehalfof Codes), sorted into
 * what billing needs: a forwarding (with its reason where the code gives one), a transfer, or neither
 * (pickup, park, conference, barge, recording, mobility hand-over, call queuing: the same call).
 */
import type { ForwardReason } from '../../core/cdr.js';

export type RedirectKind = { kind: 'forward'; reason: ForwardReason | '' } | { kind: 'transfer' } | { kind: 'same_call' };

const forward = (reason: ForwardReason | ''): RedirectKind => ({ kind: 'forward', reason });
const TRANSFER: RedirectKind = { kind: 'transfer' };
const SAME: RedirectKind = { kind: 'same_call' };

/** Redirect reason codes: Q.931 standard values, then Cisco's nonstandard ones. */
export const REDIRECT_REASONS: ReadonlyMap<string, { name: string; means: RedirectKind }> = new Map(
  (
    [
      [0, 'Unknown', SAME],
      [1, 'Call Forward Busy', forward('busy')],
      [2, 'Call Forward No Answer', forward('no_answer')],
      [4, 'Call Transfer', TRANSFER],
      [5, 'Call Pickup', SAME],
      [7, 'Call Park', SAME],
      [8, 'Call Park Pickup', SAME],
      [9, 'CPE Out of Order', forward('unreachable')],
      [10, 'Call Forward', forward('')],
      [11, 'Call Park Reversion', SAME],
      [15, 'Call Forward all', forward('unconditional')],
      [18, 'Call Deflection', forward('')],
      [34, 'Blind Transfer', TRANSFER],
      [50, 'Call Immediate Divert', forward('')],
      [66, 'Call Forward Alternate Party', forward('')],
      [82, 'Call Forward On Failure', forward('unreachable')],
      [98, 'Conference', SAME],
      [114, 'Barge', SAME],
      [129, 'Aar', SAME],
      [130, 'Refer', TRANSFER],
      [146, 'Replaces', TRANSFER],
      [162, 'Redirection (3xx)', forward('')],
      [177, 'SIP-forward busy greeting', forward('busy')],
      [178, 'Call Forward Unregistered', forward('unreachable')],
      [207, 'Follow Me (SIP-forward all greeting)', forward('unconditional')],
      [209, 'Out of Service (SIP-forward busy greeting)', forward('unreachable')],
      [239, 'Time of Day (SIP-forward all greeting)', forward('unconditional')],
      [242, 'Do Not Disturb (SIP-forward no answer greeting)', forward('no_answer')],
      [257, 'Unavailable (SIP-forward busy greeting)', forward('unreachable')],
      [274, 'Away (SIP-forward no answer greeting)', forward('no_answer')],
      [303, 'Mobility HandIn', SAME],
      [319, 'Mobility HandOut', SAME],
      [335, 'Mobility Follow Me', forward('')],
      [351, 'Mobility Redial', SAME],
      [354, 'Recording', SAME],
      [370, 'Monitoring', SAME],
      [399, 'Mobility IVR', SAME],
      [401, 'Mobility DVOR', SAME],
      [402, 'Mobility EFA', SAME],
      [403, 'Mobility Session Handoff', SAME],
      [415, 'Mobility Cell Pickup', SAME],
      [418, 'Click to Conference', SAME],
      [434, 'Forward No Retrieve', forward('no_answer')],
      [450, 'Forward No Retrieve Send Back to Parker', SAME],
      [464, 'Call Control Discovery (PSTN failover number)', SAME],
      [480, 'Intercompany Media Engine (IME)', SAME],
      [496, 'IME Connection Timed Out', SAME],
      [512, 'IME Not Enrolled', SAME],
      [528, 'IME Socket Error', SAME],
      [544, 'IME Domain Blacklisted', SAME],
      [560, 'IME Prefix Blacklisted', SAME],
      [576, 'IME Expired Ticket', SAME],
      [592, 'IME Remote No Matching Route', SAME],
      [608, 'IME Remote Unregistered', SAME],
      [624, 'IME Remote IME Disabled', SAME],
      [640, 'IME Remote Invalid IME Trunk URI', SAME],
      [656, 'IME Remote URI not E164', SAME],
      [672, 'IME Remote Called Number Not Available', SAME],
      [688, 'IME Invalid Ticket', SAME],
      [704, 'IME Unknown', SAME],
      [720, 'IME PSTN Fallback', SAME],
      [738, 'Presence Enabled Routing', SAME],
      [752, 'Agent Greeting', SAME],
      [783, 'NuRD', SAME],
      [786, 'Native Call Queuing, queue a call', SAME],
      [802, 'Native Call Queuing, de-queue a call', SAME],
      [818, 'Native Call Queuing, redirect to the second destination when no agent is logged in', forward('unreachable')],
      [834, 'Native Call Queuing, redirect to the second destination when the queue is full', forward('busy')],
      [850, 'Native Call Queuing, redirect to the second destination when the maximum wait time in queue is reached', forward('no_answer')],
    ] as const
  ).map(([code, name, means]) => [String(code), { name, means }]),
);

/** OnBehalfOf codes: the feature that redirected, joined or ended a call. */
export const ON_BEHALF_OF: ReadonlyMap<string, { name: string; means: RedirectKind }> = new Map(
  (
    [
      [0, 'Unknown', SAME],
      [1, 'CctiLine', SAME],
      [2, 'Unicast Shared Resource Provider', SAME],
      [3, 'Call Park', SAME],
      [4, 'Conference', SAME],
      [5, 'Call Forward', forward('')],
      [6, 'Meet-Me Conference', SAME],
      [7, 'Meet-Me Conference Intercepts', SAME],
      [8, 'Message Waiting', SAME],
      [9, 'Multicast Shared Resource Provider', SAME],
      [10, 'Transfer', TRANSFER],
      [11, 'SSAPI Manager', SAME],
      [12, 'Device', SAME],
      [13, 'Call Control', SAME],
      [14, 'Immediate Divert', forward('')],
      [15, 'Barge', SAME],
      [16, 'Pickup', SAME],
      [17, 'Refer', TRANSFER],
      [18, 'Replaces', TRANSFER],
      [19, 'Redirection', forward('')],
      [20, 'Callback', SAME],
      [21, 'Path Replacement', SAME],
      [22, 'FacCmc Manager', SAME],
      [23, 'Malicious Call', SAME],
      [24, 'Mobility', SAME],
      [25, 'Aar', SAME],
      [26, 'Directed Call Park', SAME],
      [27, 'Recording', SAME],
      [28, 'Monitoring', SAME],
      [29, 'CCDRequestingService', SAME],
      [30, 'Intercompany Media Engine', SAME],
      [31, 'FallBack Manager', SAME],
      [32, 'Presence Enabled Routing', SAME],
      [33, 'AgentGreeting', SAME],
      [34, 'NativeCallQueuing', SAME],
      [35, 'MobileCallType', SAME],
    ] as const
  ).map(([code, name, means]) => [String(code), { name, means }]),
);
