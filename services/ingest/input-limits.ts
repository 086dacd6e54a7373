/**
 * What one input record may hold before it is rejected rather than read: sizes bound the memory a
 * hostile or broken file can take, value limits keep out what would be billed wrongly or that the
 * store cannot hold (an integer of seconds, an index entry). Read from config/ingest.yaml; the
 * defaults apply when the file is absent. README "Input limits" lists them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { loadYamlFile } from '../config/yaml-file.js';

export const ingestLimitsSchema = z
  .object({
    /** A longer line is rejected (`too_large`) and skipped without being held. */
    max_line_bytes: z.number().int().min(1024).default(65_536),
    /** A longer field is rejected (`too_large`). */
    max_field_bytes: z.number().int().min(64).default(4096),
    /** The store indexes cdr_id: a btree entry holds at most ~2,700 bytes. */
    max_cdr_id_bytes: z.number().int().min(16).max(2000).default(255),
    /** Longest call (start to end, and billable seconds): beyond it, `bad_field`. */
    max_call_seconds: z.number().int().min(60).max(2_000_000_000).default(86_400),
    /** Earliest accepted time, ISO 8601 with offset. */
    earliest_time: z
      .string()
      .refine((t) => /(Z|[+-]\d{2}:\d{2})$/.test(t) && !Number.isNaN(Date.parse(t)), 'an ISO 8601 time with its offset, e.g. 2000-01-01T00:00:00Z')
      .default('2000-01-01T00:00:00Z'),
    /** How far after the time of the run a call may start: clocks drift, zones differ. */
    latest_ahead_hours: z.number().min(0).max(24 * 366).default(24),
  })
  .strict();

export type IngestLimitsConfig = z.infer<typeof ingestLimitsSchema>;

export interface IngestLimits {
  maxLineBytes: number;
  maxFieldBytes: number;
  maxCdrIdBytes: number;
  maxCallSeconds: number;
  earliestMs: number;
  latestAheadMs: number;
}

export function ingestLimits(config: Partial<IngestLimitsConfig> = {}): IngestLimits {
  const c = ingestLimitsSchema.parse(config);
  return {
    maxLineBytes: c.max_line_bytes,
    maxFieldBytes: c.max_field_bytes,
    maxCdrIdBytes: c.max_cdr_id_bytes,
    maxCallSeconds: c.max_call_seconds,
    earliestMs: Date.parse(c.earliest_time),
    latestAheadMs: c.latest_ahead_hours * 3_600_000,
  };
}

export const DEFAULT_INGEST_LIMITS: IngestLimits = ingestLimits();

/** config/ingest.yaml if the configuration directory has one, else the defaults. */
export function loadIngestLimits(configDir: string): IngestLimits {
  const file = join(configDir, 'ingest.yaml');
  if (!existsSync(file)) return DEFAULT_INGEST_LIMITS;
  return ingestLimits(loadYamlFile(file, ingestLimitsSchema));
}
