/** Reads a YAML document and validates it against a zod schema, naming the file and path on error. */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './config-error.js';

export function loadYamlFile<S extends z.ZodType>(path: string, schema: S): z.infer<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, 'file', `cannot be read (${(e as Error).message})`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new ConfigError(path, `line ${e.linePos?.[0]?.line ?? '?'}`, `not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const result = schema.safeParse(doc.toJS());
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const at = issue.path.length > 0 ? issue.path.join('.') : '(document)';
    throw new ConfigError(path, at, issue.message);
  }
  return result.data;
}
