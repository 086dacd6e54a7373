/**
 * Messages a worker cannot decode go, whole, to the dead-letter topic and table; the worker goes on.
 * Written in the same transaction as the batch's offsets, so a poison message is set aside exactly once.
 */
import type { TopicMessages } from 'kafkajs';
import type { Sql } from '../store/sql.js';

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  groupId: string;
  error: string;
  key: string | null;
  payload: Buffer | null;
}

export const deadLetters = {
  publishTo(topic: string, dead: DeadLetter[]): TopicMessages {
    return {
      topic,
      messages: dead.map((d) => ({
        key: d.key,
        value: d.payload,
        headers: { 'cdr-error': d.error, 'cdr-source': `${d.topic}/${d.partition}/${d.offset}`, 'cdr-group': d.groupId },
      })),
    };
  },

  async write(tx: Sql, dead: DeadLetter[]): Promise<void> {
    for (const d of dead) {
      await tx.query(
        `INSERT INTO dead_letter (topic, partition, "offset", group_id, error, key, payload) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT DO NOTHING`,
        [d.topic, d.partition, d.offset, d.groupId, d.error, d.key, d.payload],
      );
    }
  },
};
