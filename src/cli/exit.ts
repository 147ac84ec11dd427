/** Exit codes and the error that ends a command with one (and a message on stderr). */
export const EXIT = { ok: 0, failed: 1, badInput: 2 } as const;

export class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
