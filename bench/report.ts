/** The figures of one bench run, printed as they are measured and again as a final table with their goals. */

export interface Figure {
  what: string;
  value: string;
  /** The issue's goal, or '' for a figure shown for context (a limit, a stage rate). */
  goal: string;
  pass: boolean | null;
}

export class Report {
  private readonly figures: Figure[] = [];

  section(title: string): void {
    console.log(`\n== ${title}`);
  }

  line(text: string): void {
    console.log(`   ${text}`);
  }

  /** Records a figure and prints it at once. */
  add(what: string, value: string, goal = '', pass: boolean | null = null): void {
    this.figures.push({ what, value, goal, pass });
    const verdict = pass === null ? '' : pass ? '  PASS' : '  MISS';
    console.log(`   ${what}: ${value}${goal === '' ? '' : `  (goal ${goal})`}${verdict}`);
  }

  table(): void {
    const w = [Math.max(...this.figures.map((f) => f.what.length)), Math.max(...this.figures.map((f) => f.value.length)), Math.max(4, ...this.figures.map((f) => f.goal.length))];
    const row = (a: string, b: string, c: string, d: string) => `${a.padEnd(w[0]!)}  ${b.padStart(w[1]!)}  ${c.padEnd(w[2]!)}  ${d}`;
    console.log('\n== Summary');
    console.log(row('figure', 'value', 'goal', ''));
    console.log(row('-'.repeat(w[0]!), '-'.repeat(w[1]!), '-'.repeat(w[2]!), '----'));
    for (const f of this.figures) console.log(row(f.what, f.value, f.goal, f.pass === null ? '' : f.pass ? 'PASS' : 'MISS'));
    const goals = this.figures.filter((f) => f.pass !== null);
    console.log(`\n${goals.filter((f) => f.pass).length} of ${goals.length} goals met`);
  }
}

export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en');
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
