/**
 * A directory given as an export: the log-dir where FreeSWITCH's mod_json_cdr and mod_xml_cdr write one
 * document per channel (`a_<uuid>.cdr.json`, `<uuid>.cdr.xml`). Its files are read together, sorted by
 * name, not recursing (mod_xml_cdr's err-log-dir is often a subdirectory of failed HTTP posts, which
 * are the same calls again), so that the A and B legs of a call, in two files, pair.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ReadItem } from '../source-record.js';

/** The names of CDR documents: `.json`, `.xml`, and `.cdr…` (`.cdr.json`, `.cdr.xml`, `.cdr`). */
const DOCUMENT_NAME = /\.(json|xml)$|\.cdr/i;

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export interface DirectoryListing {
  /** The CDR documents, by name. */
  documents: string[];
  /** What cannot be read there, each as its reject. */
  refused: ReadItem[];
}

/** The documents of a directory, and a reject for each other file (a file in it is never silently skipped). */
export function listExportDirectory(dir: string): DirectoryListing {
  const documents: string[] = [];
  const refused: ReadItem[] = [];
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    refused.push({ kind: 'reject', reject: { source: dir, line: 0, reason: 'unknown_format', detail: `the directory cannot be listed (${(e as Error).message})`, raw: '' } });
    return { documents, refused };
  }
  for (const name of names) {
    const path = join(dir, name);
    let file: boolean;
    try {
      file = statSync(path).isFile();
    } catch {
      continue; // gone since the listing (a spool being emptied)
    }
    // Subdirectories and hidden files (editors' and sync tools' leftovers) are not exports.
    if (!file || name.startsWith('.')) continue;
    if (DOCUMENT_NAME.test(name)) documents.push(path);
    else {
      const detail = `not read: in a directory only FreeSWITCH CDR documents (.json, .xml, .cdr…) are read; give ${name} to cdr rate as a file of its own`;
      refused.push({ kind: 'reject', reject: { source: path, line: 0, reason: 'unknown_format', detail, raw: '' } });
    }
  }
  if (documents.length === 0 && refused.length === 0) {
    refused.push({ kind: 'reject', reject: { source: dir, line: 0, reason: 'empty_file', detail: 'the directory holds no CDR document (.json, .xml, .cdr…)', raw: '' } });
  }
  return { documents, refused };
}

/**
 * Why `path` cannot be read as an export, or null when it can: a regular file, or a directory of CDR
 * documents. Checked before a run starts: a named pipe would block it for ever, a device or a socket
 * holds no export, a missing path is a typo.
 */
export function exportInputProblem(path: string): string | null {
  let stat;
  try {
    stat = statSync(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    return code === 'ENOENT' ? `${path}: no such file or directory` : `${path} cannot be read (${code ?? (e as Error).message}): check its permissions`;
  }
  if (stat.isFile() || stat.isDirectory()) return null;
  const kind = stat.isFIFO() ? 'a named pipe' : stat.isSocket() ? 'a socket' : 'a device';
  return `${path} is ${kind}, not a file: save the export to a file and rate that`;
}
