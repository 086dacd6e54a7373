/**
 * What Asterisk channel names and Dial() arguments say about the parties of a call: which phone
 * (peer) a channel belongs to, whether it is a trunk, and which number a trunk was given.
 *
 * Channel names are `<tech>/<peer>-<sequence>` (`SIP/1001-0000002a`, `PJSIP/alice-00000001`,
 * `DAHDI/1-1`); Local channels are `Local/<exten>@<context>-<id>;1|2`. Dial() takes targets joined by
 * `&`, then options after a comma: a phone is dialled as `PJSIP/1001`, a trunk with the number it
 * should send, `SIP/<trunk>/<number>`, `PJSIP/<number>@<trunk>`, `DAHDI/g0/<number>`, or a SIP URI.
 */

/**
 * Channels that are lines to the network by default: TDM spans (DAHDI, Zap, mISDN, CAPI), and peers
 * whose name says trunk, pstn, provider, gateway, gw, operator, carrier or sbc. `--trunk` replaces it.
 */
export const ASTERISK_DEFAULT_TRUNKS = /^(DAHDI|Zap|mISDN|CAPI)\/|[/_.-](trunk|pstn|provider|gateway|gw|operator|carrier|sbc)([_.-]|$)/i;

/** Masquerade and zombie suffixes of Asterisk ≤ 11 name the same channel. */
export function channelKey(channel: string): string {
  return channel.replace(/<(ZOMBIE|MASQ)>/gi, '').replace(/^(AsyncGoto|Transferred)\//i, '').trim();
}

export function isLocal(channel: string): boolean {
  return /^Local\//i.test(channelKey(channel));
}

/** `PJSIP/alice-0000001a` → `PJSIP/alice`: the device, without the per-call suffix; '' for Local channels. */
export function deviceOf(channel: string): string {
  const c = channelKey(channel);
  if (c === '' || isLocal(c)) return '';
  return c.replace(/-[0-9a-f]{4,}(;\d)?$/i, '');
}

/** `SIP/123654987-00000000` → `123654987`: the peer (the phone's account on the PBX). */
export function peerOf(channel: string): string {
  const device = deviceOf(channel);
  const slash = device.indexOf('/');
  return slash < 0 ? '' : device.slice(slash + 1);
}

/** A channel to or from the network, by name. */
export function isTrunkChannel(channel: string, trunks: RegExp): boolean {
  const device = deviceOf(channel);
  return device !== '' && trunks.test(device);
}

/** The first target of a Dial(): where it went and, for a trunk, the number it was given. */
export interface DialTarget {
  /** `PJSIP/trunk-orange`, `SIP/1001`: the same form as deviceOf. */
  device: string;
  /** The number handed to the trunk; '' when the target is a phone. */
  number: string;
}

export function dialTarget(lastapp: string, lastdata: string): DialTarget | null {
  if (!/^Dial$/i.test(lastapp.trim())) return null;
  const first = lastdata.split(',')[0]!.split('&')[0]!.trim();
  const m = /^([A-Za-z0-9]+)\/(.+)$/.exec(first);
  if (!m) return null;
  const tech = m[1]!;
  const rest = m[2]!;
  if (/^Local$/i.test(tech)) return { device: '', number: '' };
  // PJSIP/<number>@<endpoint>, SIP/<number>@<peer>
  const at = /^(\+?\d+)@([^/]+)$/.exec(rest);
  if (at) return { device: `${tech}/${at[2]}`, number: at[1]! };
  // SIP/<peer>/<number>, DAHDI/g0/<number>, IAX2/<peer>/<number>, PJSIP/<endpoint>/sip:<number>@host
  const slash = /^([^/]+)\/(?:sips?:|tel:)?(\+?\d+)(?:@.*)?$/.exec(rest);
  if (slash) return { device: `${tech}/${slash[1]}`, number: slash[2]! };
  // PJSIP/<endpoint>/sip:alice@host: a contact of a phone
  return { device: `${tech}/${rest.split('/')[0]}`, number: '' };
}

/** Applications that answer a call inside the PBX: voicemail, queues, conferences, IVR prompts, pickups. */
export const PBX_APPLICATIONS = /^(VoiceMail|VoiceMailMain|VMAuthenticate|Queue|ConfBridge|MeetMe|Playback|Background|Read|Record|Echo|Milliwatt|Directory|Park|ParkedCall|Pickup|PickupChan|DISA|Page|ChanSpy|ExtenSpy|MixMonitor|AGI|Wait|WaitExten|Answer|Hangup|Congestion|Busy|Ringing|Goto|GotoIf|Macro|Gosub|System|Set|NoOp|Stasis)$/i;

/** `"Name" <number>` → number; a bare number stays as it is. */
export function numberFromClid(clid: string): string {
  const m = /<([^<>]*)>\s*$/.exec(clid);
  if (m) return m[1]!.trim();
  return /^[+\d][\d\s.-]*$/.test(clid.trim()) ? clid.trim() : '';
}

/** `Local/600@from-internal-0000000a;2` → base `Local/600@from-internal-0000000a` and half `2`. */
export function localHalf(channel: string): { base: string; half: '1' | '2' } | null {
  const m = /^(Local\/[^;]+);([12])$/i.exec(channelKey(channel));
  return m ? { base: m[1]!, half: m[2] as '1' | '2' } : null;
}

/**
 * A record's time on the wall clock as if UTC (ms): `YYYY-MM-DD HH:MM:SS`, with the `Z` of usegmtime or the
 * offset a database export wrote. Only differences are used (grouping, a call's end from its duration).
 */
export function wallMs(t: string): number {
  return Date.parse(t.replace(' ', 'T').replace(/(Z|[+-]\d{2}:\d{2})?$/, (z) => z || 'Z'));
}
