/** The options that say how to read switch exports, shared by `cdr rate` and `cdr ingest`. */
import { Option, type Command } from 'commander';
import { EXPORT_FORMATS, type ExportFormat, type ReadExportOptions } from '../ingest/readers/detect-format.js';
import { loadMappingProfile } from '../ingest/readers/mapping-profile.js';

export interface ExportFlags {
  tz: string;
  format?: ExportFormat;
  profile?: string;
  freeswitchTemplate?: string;
  asteriskUtc?: boolean;
}

export function withExportOptions(cmd: Command): Command {
  return cmd
    .option('--tz <zone>', 'time zone of timestamps written without an offset', 'Europe/Paris')
    .addOption(new Option('--format <format>', 'skip detection and read every file in this format').choices([...EXPORT_FORMATS]))
    .option('--profile <file>', 'mapping profile (YAML) for a CSV export of another switch')
    .option('--freeswitch-template <spec>', 'FreeSWITCH cdr_csv template: a template line, or cdr_csv.conf.xml#name')
    .option('--asterisk-utc', 'Asterisk wrote its times in UTC (usegmtime=yes)');
}

export function readOptions(o: ExportFlags): ReadExportOptions {
  return {
    ...(o.format ? { format: o.format } : {}),
    ...(o.profile ? { profile: loadMappingProfile(o.profile) } : {}),
    ...(o.freeswitchTemplate ? { freeswitchTemplate: o.freeswitchTemplate } : {}),
    ...(o.asteriskUtc ? { asteriskUtc: true } : {}),
  };
}
