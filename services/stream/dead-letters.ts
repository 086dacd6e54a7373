/**
 * Messages a worker cannot decode go, whole, to the dead-letter topic and table; the worker goes on.
 * Written in the same transaction as the batch's offsets, so a poison message is set aside exactly once.
 */
import type { KafkaMessage, TopicMessages } from 'kafkajs';
import type { Sql } from '../store/sql.js';
import { AvroCodecError } from './avro-codec.js';

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  groupId: string;
  error: string;
  key: string | null;
  payload: Buffer | null;
}

/**
 * Decodes a batch; a record that does not decode, or that holds a value `poison` finds unfit to rate or
 * store, becomes a dead letter instead of stopping the worker. A record carries one value or several (a
 * client's calls on cdr.normalized): the fit values of a record with a poison one go on, and its dead
 * letter names which of them were set aside.
 */
export function decodeBatch<T>(
  decode: (value: Buffer) => T[],
  messages: KafkaMessage[],
  at: { topic: string; partition: number; groupId: string },
  poison: (value: T) => string | null = () => null,
): { values: T[]; dead: DeadLetter[] } {
  const values: T[] = [];
  const dead: DeadLetter[] = [];
  for (const m of messages) {
    const letter = (error: string) => dead.push({ ...at, offset: m.offset, error, key: m.key?.toString() ?? null, payload: m.value });
    let decoded: T[];
    try {
      decoded = decode(m.value ?? Buffer.alloc(0));
    } catch (err) {
      if (!(err instanceof AvroCodecError)) throw err;
      letter(`${err.code}: ${err.message}`);
      continue;
    }
    const unfit: string[] = [];
    decoded.forEach((value, i) => {
      const why = poison(value);
      if (why === null) values.push(value);
      else unfit.push(decoded.length === 1 ? why : `value ${i + 1} of ${decoded.length}: ${why}`);
    });
    if (unfit.length > 0) letter(`poison_value: ${unfit.slice(0, 5).join('; ')}${unfit.length > 5 ? `; and ${unfit.length - 5} more` : ''}`);
  }
  return { values, dead };
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
