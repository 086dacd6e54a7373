/**
 * The streaming runtime's commands: `cdr ingest` and `cdr worker rater|fraud`, over a real Kafka broker
 * (KAFKA_BROKERS) and PostgreSQL (DATABASE_URL).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { createProducer } from '../stream/bounded-send.js';
import { Zone } from '../core/calendar.js';
import { loadConfig } from '../config/load-config.js';
import { pipelineContext } from '../config/pipeline-context.js';
import { openPostgres } from '../store/sql.js';
import { ExactlyOnceWorker } from '../stream/exactly-once-consumer.js';
import { FraudStage } from '../stream/fraud-stage.js';
import { ingestFile, spoolFiles, type FileIngestion } from '../stream/ingest-service.js';
import { brokersFromEnv, ensureTopics, kafkaClient, replicationFactorFromEnv, topicsFor } from '../stream/kafka-setup.js';
import { WorkerMetrics } from '../stream/metrics.js';
import { RaterStage } from '../stream/rater-stage.js';
import { readOptions, withExportOptions, type ExportFlags } from './export-options.js';
import { replayTargets } from './reject-commands.js';
import { REPLAYABLE_REASONS } from '../store/rejects.js';
import { logger } from './logger.js';

const DEFAULT_DATABASE = 'postgres://postgres@127.0.0.1:5432/test';

interface Common {
  config: string;
  subscribers?: string;
  databaseUrl: string;
  brokers: string;
  topicPrefix: string;
  partitions: number;
  replicationFactor: string;
}

function common(cmd: Command): Command {
  // Services report progress and lag at info level unless LOG_LEVEL says otherwise.
  if (process.env.LOG_LEVEL === undefined) cmd.hook('preAction', () => void (logger.level = 'info'));
  return cmd
    .option('--config <dir>', 'configuration directory (plans, tariffs, subscribers, fraud)', 'config')
    .option('--subscribers <file>', 'subscriber directory to use instead of <config>/subscribers.csv')
    .option('--database-url <url>', 'PostgreSQL (env DATABASE_URL)', process.env.DATABASE_URL ?? DEFAULT_DATABASE)
    .option('--brokers <list>', 'Kafka brokers (env KAFKA_BROKERS)', process.env.KAFKA_BROKERS ?? '127.0.0.1:19092')
    .option('--topic-prefix <prefix>', 'prefix of every topic name (env CDR_TOPIC_PREFIX)', process.env.CDR_TOPIC_PREFIX ?? '')
    .option('--partitions <n>', 'partitions of topics this command creates', (v) => Number(v), 4)
    .option('--replication-factor <n>', 'replicas of topics this command creates: 1 on one broker, 3 on a production cluster (env CDR_REPLICATION_FACTOR)', process.env.CDR_REPLICATION_FACTOR ?? '1');
}


/**
 * A worker starting while the broker or the database restarts waits for them rather than exiting:
 * the service comes up when its dependencies do, without a supervisor's help.
 */
async function untilReady<T>(what: string, attempt: () => Promise<T>, deadlineMs = 300_000): Promise<T> {
  const giveUpAt = Date.now() + deadlineMs;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > giveUpAt) throw err;
      logger.warn({ what, attempt: n, err: (err as Error).message }, 'not ready, retrying');
      await sleep(Math.min(10_000, 500 * n));
    }
  }
}

export function addStreamCommands(program: Command): void {
  withExportOptions(common(program.command('ingest')))
    .description('send switch exports to cdr.normalized (a file already ingested is skipped); --watch polls a spool directory')
    .argument('[paths...]', 'export files, or spool directories with --watch')
    .option('--watch <seconds>', 'keep polling the directories every N seconds', (v) => Number(v))
    .option('--replay', `send again the files whose records were rejected as ${REPLAYABLE_REASONS.join(' or ')}, once the directory or configuration knows them (the rater bills each CDR once)`)
    .action(async (paths: string[], o: Common & ExportFlags & { watch?: number; replay?: boolean }) => {
      const config = loadConfig(o.config, o.subscribers);
      const sql = await openPostgres(o.databaseUrl, { applicationName: `cdr ingest pid ${process.pid}` });
      const kafka = kafkaClient('cdr-ingest', brokersFromEnv(o.brokers), logger);
      const topics = topicsFor(o.topicPrefix);
      await ensureTopics(kafka, topics, o.partitions, replicationFactorFromEnv(o.replicationFactor));
      const producer = createProducer(kafka);
      await producer.connect();
      const opts = { config, sql, producer, topics, sourceZone: new Zone(o.tz), log: logger, read: readOptions(o) };
      if (o.replay) {
        try {
          const targets = await replayTargets(sql, REPLAYABLE_REASONS);
          for (const c of targets.changed) process.stdout.write(`${c.path}: ${c.why}; ingest the original file again to replay its rejects\n`);
          for (const file of targets.ready) {
            const r = await ingestFile(file, opts, true);
            process.stdout.write(`${r.path}: replayed, ${r.records} CDRs, ${r.rejected} still rejected\n`);
          }
          if (targets.ready.length === 0) process.stdout.write('nothing to replay\n');
        } finally {
          await producer.disconnect();
          await sql.close();
        }
        return;
      }
      if (paths.length === 0) throw new Error('give the export files (or spool directories with --watch) to ingest, or --replay');
      let stop = false;
      process.once('SIGTERM', () => void (stop = true));
      process.once('SIGINT', () => void (stop = true));
      try {
        do {
          const files = o.watch === undefined ? paths : paths.flatMap(spoolFiles);
          const results: FileIngestion[] = [];
          for (const file of files) {
            if (stop) break;
            results.push(await ingestFile(file, opts));
          }
          for (const r of results) {
            if (o.watch === undefined || r.status === 'ingested') process.stdout.write(`${r.path}: ${r.status.replace('_', ' ')}, ${r.records} CDRs, ${r.rejected} rejected\n`);
          }
          if (o.watch !== undefined && !stop) await sleep(o.watch * 1000);
        } while (o.watch !== undefined && !stop);
      } finally {
        await producer.disconnect();
        await sql.close();
      }
    });

  common(program.command('worker'))
    .description('run a stage as a Kafka consumer group writing to PostgreSQL, exactly once; SIGTERM stops it cleanly')
    .argument('<stage>', 'rater (cdr.normalized → rated CDRs) or fraud (cdr.rated → alerts)')
    .option('--group <id>', 'consumer group (default <topic-prefix>cdr-<stage>)')
    .option('--metrics-port <port>', 'serve /metrics and /health on this port (0 = off)', (v) => Number(v), 0)
    .option('--with-fraud', 'rater only: run the fraud detectors on each batch in the rater\'s own transaction, instead of fraud workers (run none then)')
    .option('--state-budget <mb>', 'memory the rater\'s state may take (counters, and calls kept for late CDRs); clients seen least recently are evicted past it', (v) => Number(v), 512)
    .action(async (stage: string, o: Common & { group?: string; metricsPort: number; stateBudget: number; withFraud?: boolean }) => {
      if (stage !== 'rater' && stage !== 'fraud') throw new Error(`unknown stage "${stage}": expected rater or fraud`);
      if (o.withFraud === true && stage !== 'rater') throw new Error('--with-fraud runs the detectors inside the rater: give it to `cdr worker rater`, and run no fraud worker');
      const config = loadConfig(o.config, o.subscribers);
      const sql = await untilReady('PostgreSQL', () => openPostgres(o.databaseUrl, { applicationName: `cdr worker ${stage} pid ${process.pid}` }));
      const kafka = kafkaClient(`cdr-${stage}`, brokersFromEnv(o.brokers), logger);
      const topics = topicsFor(o.topicPrefix);
      const replicas = replicationFactorFromEnv(o.replicationFactor); // a mistake fails now, not after 5 minutes of retries
      await untilReady('the Kafka topics', () => ensureTopics(kafka, topics, o.partitions, replicas));
      const groupId = o.group ?? `${o.topicPrefix}cdr-${stage}`;
      const ctx = pipelineContext(config);
      const metrics = new WorkerMetrics(stage, logger);
      const server = metrics.serve(o.metricsPort);
      const worker = new ExactlyOnceWorker({
        kafka,
        sql,
        groupId,
        topic: stage === 'rater' ? topics.normalized : topics.rated,
        stage: stage === 'rater' ? new RaterStage(ctx, sql, topics, groupId, o.stateBudget, o.withFraud === true) : new FraudStage(ctx, sql, topics, groupId),
        log: logger,
        metrics,
      });
      const shutdown = async (signal: string) => {
        logger.info({ signal, stage }, 'stopping');
        await worker.stop();
        await sql.close();
        server?.close();
        process.exit(0);
      };
      process.once('SIGTERM', () => void shutdown('SIGTERM'));
      process.once('SIGINT', () => void shutdown('SIGINT'));
      await untilReady('the consumer group', () => worker.start());
      logger.info({ stage, group: groupId }, 'worker running');
    });
}
