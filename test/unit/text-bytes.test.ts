import { describe, expect, it } from 'vitest';
import { utf8Bytes } from '../../services/csv/text-bytes.js';

describe('utf8Bytes: the UTF-8 bytes of CSV and COPY text', () => {
  it.each([
    ['ASCII, as nearly every row is', 'g42-20260301-000001,acc-001426,+33580382215,2026-03-01T06:20:21+01:00,0.1250\n'],
    ['an accent of Latin-1', 'Société Générale,Châteauroux\n'],
    ['a character past U+00FF whose low byte is ASCII (Ł is U+0141: Latin-1 would write "A")', 'Łódź,Ł\n'],
    ['the euro sign and an emoji', '12,50 € 📞\n'],
    ['empty', ''],
  ])('%s', (_what, text) => {
    const bytes = utf8Bytes(text);
    expect(bytes.equals(Buffer.from(text, 'utf8'))).toBe(true);
    expect(bytes.toString('utf8')).toBe(text);
  });
});
