/**
 * config/notifications.yaml: where critical alerts, automatic locks and cases are sent (webhooks signed
 * with HMAC-SHA256, e-mail over SMTP), each route filtered by kind, rule and severity. Secrets are not in
 * the file: it names the environment variables that hold them, and a variable that is not set stops
 * `cdr serve` at start (a webhook that could not be signed, or a mailbox that refuses us, would be found
 * only when the first alert is lost). No file, or empty lists: nothing is sent.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { z } from 'zod';
import { ConfigError } from '../../config/config-error.js';
import { loadYamlFile } from '../../config/yaml-file.js';
import { NOTICE_KINDS, type NoticeKind, type Severity } from './notification.js';

export const NOTIFICATIONS_FILE = 'notifications.yaml';

/** A secret read from the environment: kept out of logs, JSON and inspection. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '[secret]';
  }
  toString(): string {
    return '[secret]';
  }
  [inspect.custom](): string {
    return '[secret]';
  }
}

function strict<S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `unknown field ${iss.keys.map((k) => `"${k}"`).join(', ')}; known fields: ${known}` : undefined),
  });
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const name = z.string().regex(NAME, 'a short name (letters, digits, "_", ".", "-"), shown in the delivery log');
const envName = z.string().regex(ENV_NAME, 'the name of an environment variable, e.g. CDR_WEBHOOK_SECRET');
const kinds = z.array(z.enum(NOTICE_KINDS)).min(1, 'list at least one of alert, lock, case').default([...NOTICE_KINDS]);
const rules = z
  .union([z.literal('*'), z.array(z.string().min(1)).min(1, "list at least one rule, or write '*' for every rule")])
  .default('*');
const minSeverity = z.enum(['info', 'warning', 'critical']).default('critical');
const address = z.string().regex(/^[^@\s<>]+@[^@\s<>]+$|^[^<>]*<[^@\s<>]+@[^@\s<>]+>$/, 'an e-mail address, e.g. fraude@operateur.fr or "Desk <fraude@operateur.fr>"');

const webhookSchema = strict({
  name,
  url: z
    .string()
    .refine((u) => URL.canParse(u) && ['http:', 'https:'].includes(new URL(u).protocol), 'must be an http:// or https:// URL, e.g. https://soc.example.fr/hooks/cdr'),
  secret_env: envName,
  kinds,
  rules,
  min_severity: minSeverity,
});

const emailSchema = strict({
  name,
  smtp: strict({
    host: z.string().min(1, 'the SMTP server, e.g. smtp.operateur.fr'),
    port: z.number().int().min(1).max(65_535).default(587),
    /** true: TLS from the first byte (port 465); false: STARTTLS when the server offers it. */
    secure: z.boolean().default(false),
    user_env: envName.optional(),
    password_env: envName.optional(),
  }).refine((s) => (s.user_env === undefined) === (s.password_env === undefined), 'give both user_env and password_env (SMTP authentication), or neither'),
  from: address,
  to: z.array(address).min(1, 'list at least one recipient'),
  kinds,
  rules,
  min_severity: minSeverity,
});

export const notificationsSchema = strict({
  webhooks: z.array(webhookSchema).nullish().transform((v) => v ?? []),
  /** One route or a list of them. */
  email: z
    .preprocess((v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? [v] : v), z.array(emailSchema).nullish())
    .transform((v) => v ?? []),
});

export type NotificationsFile = z.infer<typeof notificationsSchema>;

interface Route {
  /** `webhook:NAME` or `email:NAME`: the delivery table's channel. */
  channel: string;
  kinds: readonly NoticeKind[];
  rules: '*' | readonly string[];
  minSeverity: Severity;
}

export interface WebhookChannel extends Route {
  type: 'webhook';
  url: string;
  secret: Secret;
}

export interface EmailChannel extends Route {
  type: 'email';
  smtp: { host: string; port: number; secure: boolean; user?: string; password?: Secret };
  from: string;
  to: readonly string[];
}

export type Channel = WebhookChannel | EmailChannel;

export interface NotificationsConfig {
  /** The file read; null when there was none (no channels). */
  file: string | null;
  channels: Channel[];
}

export const NO_NOTIFICATIONS: NotificationsConfig = { file: null, channels: [] };

/** notifications.yaml of a configuration directory, validated, its secrets read from `env`; no channels when absent. */
export function loadNotifications(dir: string, env: NodeJS.ProcessEnv = process.env): NotificationsConfig {
  const file = join(dir, NOTIFICATIONS_FILE);
  if (!existsSync(file)) return NO_NOTIFICATIONS;
  return notificationsOf(file, loadYamlFile(file, notificationsSchema), env);
}

/** The routes of a validated file, their secrets read from `env` (a variable unset or empty is an error naming it). */
export function notificationsOf(file: string, f: NotificationsFile, env: NodeJS.ProcessEnv): NotificationsConfig {
  const secretOf = (where: string, variable: string, what: string): Secret => {
    const value = env[variable];
    if (value === undefined || value === '') {
      throw new ConfigError(file, where, `environment variable ${variable} is not set: export it with ${what} before starting cdr serve, or remove this route`);
    }
    return new Secret(value);
  };
  const channels: Channel[] = [];
  const seen = new Map<string, string>();
  const claim = (channel: string, where: string) => {
    const before = seen.get(channel);
    if (before !== undefined) throw new ConfigError(file, `${where}.name`, `"${channel.split(':')[1]}" is already the name of ${before}; give each route its own name`);
    seen.set(channel, where);
  };
  f.webhooks.forEach((w, i) => {
    const where = `webhooks.${i}`;
    claim(`webhook:${w.name}`, where);
    channels.push({
      type: 'webhook', channel: `webhook:${w.name}`, url: w.url, kinds: w.kinds, rules: w.rules, minSeverity: w.min_severity,
      secret: secretOf(`${where}.secret_env`, w.secret_env, 'the HMAC secret shared with the receiver'),
    });
  });
  f.email.forEach((e, i) => {
    const where = `email.${i}`;
    claim(`email:${e.name}`, where);
    const { host, port, secure, user_env, password_env } = e.smtp;
    channels.push({
      type: 'email', channel: `email:${e.name}`, from: e.from, to: e.to, kinds: e.kinds, rules: e.rules, minSeverity: e.min_severity,
      smtp: {
        host, port, secure,
        ...(user_env === undefined ? {} : { user: secretOf(`${where}.smtp.user_env`, user_env, 'the SMTP user name').reveal() }),
        ...(password_env === undefined ? {} : { password: secretOf(`${where}.smtp.password_env`, password_env, 'the SMTP password') }),
      },
    });
  });
  return { file, channels };
}
