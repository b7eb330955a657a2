/** Why the check could not compare at all (bad flags, unreadable baseline): exit code 2. */
export class CompatError extends Error {
  override readonly name = 'CompatError';

  /** `usage`: the command line is wrong, so the usage text helps. */
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
  }
}
