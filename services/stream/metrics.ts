/**
 * Health and lag of a worker: Prometheus metrics on /metrics and a liveness answer on /health, from a
 * small HTTP server on the port given (0 = none).
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly processed: Counter;
  private readonly lag: Gauge;
  private readonly duration: Histogram;
  readonly deadLetters: Counter;

  private since = 0;
  private loggedAt = Date.now();
  private readonly lagByPartition = new Map<number, number>();

  /** `log` gets a progress line (messages processed, lag per partition) every 10 s. */
  constructor(
    readonly stage: string,
    private readonly log?: Logger,
  ) {
    collectDefaultMetrics({ register: this.registry });
    this.processed = new Counter({ name: 'cdr_messages_processed_total', help: 'Messages processed (results committed)', labelNames: ['stage'], registers: [this.registry] });
    this.lag = new Gauge({ name: 'cdr_consumer_lag', help: 'Messages behind the end of the partition after the last batch', labelNames: ['stage', 'partition'], registers: [this.registry] });
    this.duration = new Histogram({ name: 'cdr_batch_seconds', help: 'Time to process and commit one batch', labelNames: ['stage'], registers: [this.registry] });
    this.deadLetters = new Counter({ name: 'cdr_dead_letters_total', help: 'Undecodable messages sent to the dead-letter topic', labelNames: ['stage'], registers: [this.registry] });
  }

  batch(partition: number, processed: number, lag: number, ms: number): void {
    this.processed.inc({ stage: this.stage }, processed);
    this.lag.set({ stage: this.stage, partition: String(partition) }, lag);
    this.duration.observe({ stage: this.stage }, ms / 1000);
    this.since += processed;
    this.lagByPartition.set(partition, lag);
    const now = Date.now();
    if (this.log && now - this.loggedAt >= 10_000) {
      this.log.info({ stage: this.stage, processed: this.since, lag: Object.fromEntries(this.lagByPartition) }, 'progress');
      this.since = 0;
      this.loggedAt = now;
    }
  }

  serve(port: number): Server | null {
    if (port === 0) return null;
    const server = createServer((req, res) => {
      if (req.url === '/health') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (req.url === '/metrics') {
        this.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
          (err: Error) => res.writeHead(500).end(err.message),
        );
      } else {
        res.writeHead(404).end();
      }
    });
    // Loopback unless METRICS_HOST says otherwise (0.0.0.0 in a container, for Prometheus).
    server.listen(port, process.env.METRICS_HOST ?? '127.0.0.1');
    return server;
  }
}
