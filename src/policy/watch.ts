/**
 * The policy in force, reloaded when its file changes (polled, so an editor's rename counts) or
 * on SIGHUP. A new file that does not validate is refused with a log line naming every problem;
 * the old policy stays in force.
 */
import { unwatchFile, watchFile } from 'node:fs';
import type { Logger } from '../log.js';
import { loadPolicyFile, type LoadedPolicy } from './load.js';

export class PolicyLoadError extends Error {
  override readonly name = 'PolicyLoadError';
  constructor(readonly problems: string[]) {
    super(`The approval policy does not validate:\n${problems.join('\n')}`);
  }
}

export class PolicyHolder {
  #current: LoadedPolicy;
  #watching = false;
  readonly #onHup = () => void this.reload();

  private constructor(
    readonly file: string,
    private readonly optional: boolean,
    initial: LoadedPolicy,
    private readonly logger: Logger | undefined,
  ) {
    this.#current = initial;
  }

  /** The policy in `file`; a bad file refuses (start-up stops), a missing one is the default when `optional`. */
  static async open(file: string, options: { optional: boolean; logger?: Logger | undefined }): Promise<PolicyHolder> {
    const loaded = await loadPolicyFile(file, { optional: options.optional });
    if (!loaded.ok) throw new PolicyLoadError(loaded.errors);
    return new PolicyHolder(file, options.optional, loaded.loaded, options.logger);
  }

  get current(): LoadedPolicy {
    return this.#current;
  }

  /** Read the file again: true when the new policy is in force, false when it was refused. */
  async reload(): Promise<boolean> {
    const loaded = await loadPolicyFile(this.file, { optional: this.optional });
    if (!loaded.ok) {
      this.logger?.error(
        { file: this.file, problems: loaded.errors, inForce: this.#current.hash },
        'the changed approval policy does not validate; the previous policy stays in force',
      );
      return false;
    }
    if (loaded.loaded.hash !== this.#current.hash)
      this.logger?.info(
        { file: this.file, hash: loaded.loaded.hash, was: this.#current.hash, rules: loaded.loaded.policy.rules.length },
        'approval policy reloaded',
      );
    this.#current = loaded.loaded;
    return true;
  }

  watch(pollMs = 1_000): void {
    if (this.#watching) return;
    this.#watching = true;
    watchFile(this.file, { interval: pollMs, persistent: false }, () => void this.reload());
    process.on('SIGHUP', this.#onHup);
  }

  stop(): void {
    if (!this.#watching) return;
    this.#watching = false;
    unwatchFile(this.file);
    process.off('SIGHUP', this.#onHup);
  }
}
