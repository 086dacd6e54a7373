/**
 * A configuration problem: names the file, where in it, and what is wrong. Configuration errors stop
 * the run before any CDR is read (unlike bad CDRs, which are rejected one by one).
 */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly where: string,
    readonly problem: string,
  ) {
    super(`${file}: ${where}: ${problem}`);
    this.name = 'ConfigError';
  }
}
