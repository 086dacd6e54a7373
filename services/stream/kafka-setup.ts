/**
 * The broker, the topics and their names. Topics are keyed by client_id, so that every per-client
 * counter lives in one partition and scaling out is adding partitions and consumers.
 */
import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';

export interface Topics {
  normalized: string;
  rejected: string;
  rated: string;
  adjustments: string;
  alerts: string;
  deadLetter: string;
}

/** Topic names; a prefix keeps tests and tenants apart on one broker. */
export function topicsFor(prefix = process.env.CDR_TOPIC_PREFIX ?? ''): Topics {
  return {
    normalized: `${prefix}cdr.normalized`,
    rejected: `${prefix}cdr.rejected`,
    rated: `${prefix}cdr.rated`,
    adjustments: `${prefix}cdr.adjustments`,
    alerts: `${prefix}fraud.alerts`,
    deadLetter: `${prefix}cdr.dead-letter`,
  };
}

export function brokersFromEnv(value = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092'): string[] {
  return value.split(',').map((b) => b.trim()).filter((b) => b !== '');
}

const PINO_LEVEL: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export function kafkaClient(clientId: string, brokers: string[], log: Logger): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    retry: { retries: 12, initialRetryTime: 300, maxRetryTime: 10_000 },
    logCreator:
      () =>
      ({ namespace, level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        log[PINO_LEVEL[level] ?? 'info']({ kafka: namespace, ...rest }, message);
      },
  });
}

/**
 * Replicas of each topic this runtime creates: 1 for a single development broker, 3 on a production
 * cluster (with the brokers' min.insync.replicas=2 and the producers' acks=all, a record acknowledged is
 * on two brokers at least, and losing one broker loses nothing).
 */
export function replicationFactorFromEnv(value = process.env.CDR_REPLICATION_FACTOR ?? '1'): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`CDR_REPLICATION_FACTOR (or --replication-factor) must be a whole number ≥ 1, got "${value}"`);
  return n;
}

/** Creates the topics if they do not exist, with `partitions` each (existing ones keep theirs), on `replicationFactor` brokers. */
export async function ensureTopics(kafka: Kafka, topics: Topics, partitions: number, replicationFactor = 1): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = Object.values(topics).filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await admin.createTopics({ waitForLeaders: true, topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor })) });
    }
  } finally {
    await admin.disconnect();
  }
}
