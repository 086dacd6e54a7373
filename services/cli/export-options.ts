/** The options that say how to read switch exports, shared by `cdr rate` and `cdr ingest`. */
import { Option, type Command } from 'commander';
import { isSupportedCountry } from 'libphonenumber-js/max';
import { ConfigError } from '../config/config-error.js';
import { isKnownEncoding } from '../ingest/csv-lines.js';
import { ACCOUNT_SOURCES, type AccountSource } from '../ingest/readers/asterisk-legs.js';
import { EXPORT_FORMATS, type ExportFormat, type ReadExportOptions } from '../ingest/readers/detect-format.js';
import { loadMappingProfile } from '../ingest/readers/mapping-profile.js';

export interface ExportFlags {
  tz: string;
  format?: ExportFormat;
  profile?: string;
  freeswitchTemplate?: string;
  asteriskUtc?: boolean;
  country?: string;
  trunk?: string;
  inboundContext?: string;
  accountFrom?: string;
  encoding?: string;
}

export function withExportOptions(cmd: Command): Command {
  return cmd
    .option('--tz <zone>', 'time zone of timestamps written without an offset', 'Europe/Paris')
    .addOption(new Option('--format <format>', 'skip detection and read every file in this format').choices([...EXPORT_FORMATS]))
    .option('--profile <file>', 'mapping profile (YAML) for a CSV export of another switch')
    .option('--freeswitch-template <spec>', 'FreeSWITCH cdr_csv template: a template line, or cdr_csv.conf.xml#name')
    .option('--asterisk-utc', 'Asterisk wrote its times in UTC (usegmtime=yes)')
    .option('--country <cc>', 'country of national numbers written without a country code (ISO 3166, e.g. US)', 'FR')
    .option('--trunk <regex>', 'trunks: Asterisk channels (PJSIP/orange), FreeSWITCH gateways, CUCM gateway devices, Kamailio src_ip / src_domain')
    .option('--inbound-context <regex>', 'Asterisk / FreeSWITCH contexts of calls from the network')
    .option('--account-from <fields>', `where the account comes from, in order (${ACCOUNT_SOURCES.join(',')})`)
    .option('--encoding <label>', 'encoding of exports that are not UTF-8 (windows-1252, latin1, windows-1251…); without it a foreign byte in a name is replaced, not refused');
}

export function readOptions(o: ExportFlags): ReadExportOptions {
  const country = o.country?.toUpperCase();
  if (country !== undefined && !isSupportedCountry(country)) throw new ConfigError('--country', 'value', `"${o.country}" is not an ISO 3166 country code libphonenumber knows (FR, BE, US…)`);
  return {
    ...(o.format ? { format: o.format } : {}),
    ...(o.profile ? { profile: loadMappingProfile(o.profile) } : {}),
    ...(o.freeswitchTemplate ? { freeswitchTemplate: o.freeswitchTemplate } : {}),
    ...(o.asteriskUtc ? { asteriskUtc: true } : {}),
    ...(country !== undefined && country !== 'FR' ? { country } : {}),
    ...(o.trunk ? { trunks: regexOption('--trunk', o.trunk) } : {}),
    ...(o.inboundContext ? { inboundContext: regexOption('--inbound-context', o.inboundContext) } : {}),
    ...(o.accountFrom ? { accountFrom: accountSources(o.accountFrom) } : {}),
    ...(o.encoding ? { encoding: encodingOption(o.encoding) } : {}),
  };
}

function encodingOption(label: string): string {
  if (!isKnownEncoding(label)) throw new ConfigError('--encoding', 'value', `"${label}" is not an encoding label Node.js knows; e.g. --encoding windows-1252 (Western Europe), windows-1251 (Cyrillic), latin1`);
  return label;
}

function regexOption(name: string, source: string): RegExp {
  try {
    return new RegExp(source, 'i');
  } catch (e) {
    throw new ConfigError(name, 'value', `"${source}" is not a regular expression (${(e as Error).message}); e.g. ${name} '^PJSIP/(orange|ovh)'`);
  }
}

function accountSources(list: string): AccountSource[] {
  const fields = list.split(',').map((f) => f.trim());
  const bad = fields.find((f) => !(ACCOUNT_SOURCES as readonly string[]).includes(f));
  if (bad !== undefined || fields.length === 0) throw new ConfigError('--account-from', 'value', `"${bad ?? list}" is not one of ${ACCOUNT_SOURCES.join(', ')}; e.g. --account-from channel,accountcode`);
  return fields as AccountSource[];
}
