/**
 * The bench's own tools: the .cpuprofile reader that names where a run spends its time, the raw-parse
 * row counters that set the limit every rate is compared with, the median of repeated runs, and the CPU
 * sampler that says which process of the streaming pipeline spent the machine's cores.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { newestProfile, topSelfTime } from '../../bench/cpu-profile.js';
import { CpuSampler } from '../../bench/cpu-sampler.js';
import { countPapa, countUdsv } from '../../bench/raw-parse.js';
import { median } from '../../bench/report.js';
import { tempDir } from '../support/tmp.js';

const tmp = tempDir();
const frame = (functionName: string, lineNumber: number) => ({ functionName, url: 'file:///app/dist/x.js', lineNumber, scriptId: '1', columnNumber: 0 });

describe('topSelfTime', () => {
  it('charges each sample interval to the function it landed in, most first, with its share of the run', () => {
    const dir = tmp();
    const file = join(dir, 'a.cpuprofile');
    writeFileSync(
      file,
      JSON.stringify({
        nodes: [
          { id: 1, callFrame: frame('(root)', -1) },
          { id: 2, callFrame: frame('rate', 9) },
          { id: 3, callFrame: frame('parse', 19) },
          // The same function reached by another path is merged with the first.
          { id: 4, callFrame: frame('rate', 9) },
        ],
        samples: [2, 3, 2, 4, 3],
        timeDeltas: [1000, 500, 2000, 1000, 500],
      }),
    );
    const top = topSelfTime(file, 5);
    expect(top.map((t) => [t.name, t.where, t.ms])).toEqual([
      ['rate', expect.stringMatching(/x\.js:10$/), 4],
      ['parse', expect.stringMatching(/x\.js:20$/), 1],
    ]);
    expect(top[0]!.share).toBeCloseTo(0.8);
    expect(topSelfTime(file, 1)).toHaveLength(1);
    expect(newestProfile(dir)).toBe(file);
  });
});

describe('raw parse counters', () => {
  it('count data rows without the header, quoted line breaks included, the same with uDSV and papaparse', async () => {
    const file = tmp('cdrs.csv', 'cdr_id,caller,note\n1,+33612345678,plain\n2,+33612345679,"two\nlines"\n3,+33612345670,"a, b"\n');
    expect(await countUdsv(file)).toBe(3);
    expect(await countPapa(file)).toBe(3);
  });
});

describe('median', () => {
  it('is the middle of an odd count and the mean of the two middles of an even one', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('CpuSampler', () => {
  it('charges a process that burns about a second of CPU to its kind, and nothing to kinds not running', async () => {
    const sampler = new CpuSampler((cmdline) => (cmdline.includes('burn-for-the-sampler') ? 'burner' : cmdline.includes('no-such-process') ? 'absent' : null));
    sampler.start();
    // A child that spins until it has used 1 s of CPU, then exits (its last sample is kept).
    const child = spawn(process.execPath, ['-e', 'for (let u = process.cpuUsage(); u.user + u.system < 1e6; u = process.cpuUsage()); // burn-for-the-sampler']);
    await new Promise((resolve) => child.once('exit', resolve));
    const spent = sampler.stop();
    expect(spent.get('burner')).toBeGreaterThan(0.45); // sampled every 500 ms: at most half a second lost
    expect(spent.get('burner')).toBeLessThanOrEqual(1.5); // the 1 s and the runtime's start
    expect(spent.has('absent')).toBe(false);
  });
});
