/**
 * The policy in force, reloaded when its file changes (polled, so an editor's rename counts) or
 * on SIGHUP. A new file that does not validate is refused with a log line naming every problem;
 * the old policy stays in force, and `refusal` says so (for /readyz) until a good file loads.
 * A reload never rejects: it runs from a file watcher and a signal handler, where a rejection
 * would end the process.
 */
import { unwatchFile, watchFile } from 'node:fs';
import { CodedError, EXIT } from '../errors.js';
import type { Logger } from '../log.js';
import { loadPolicyFile, type LoadedPolicy, type PolicyLoad } from './load.js';

/** The policy file does not validate at start-up: every problem named, a command ends as bad input. */
export class PolicyLoadError extends CodedError {
  override readonly name = 'PolicyLoadError';
  declare readonly code: 'POLICY_INVALID';
  constructor(readonly problems: string[]) {
    super('POLICY_INVALID', `The approval policy does not validate:\n${problems.join('\n')}`, { exitCode: EXIT.badInput });
  }
}

/** What one reload did: the policy now in force, or the problems of the file that was refused. */
export type PolicyReload = { ok: true; hash: string } | { ok: false; problems: string[] };

/** The file on disk that is not in force, and why. */
export interface PolicyRefusal {
  at: string;
  problems: string[];
}

/** How many problems the one-line status names (the log line names them all). */
const STATUS_PROBLEMS = 3;

export class PolicyHolder {
  #current: LoadedPolicy;
  #loadedAt = new Date().toISOString();
  #refusal: PolicyRefusal | undefined;
  #watching = false;
  /** Reloads run one after another, so the last file read is the one in force. */
  #queue: Promise<unknown> = Promise.resolve();
  readonly #listeners = new Set<(result: PolicyReload) => void>();
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

  /** Set while the file on disk was refused and an older policy is still in force. */
  get refusal(): PolicyRefusal | undefined {
    return this.#refusal;
  }

  /** One line for operators (/readyz) while the file on disk is not in force; undefined when it is. */
  status(): string | undefined {
    const r = this.#refusal;
    if (!r) return undefined;
    const shown = r.problems.slice(0, STATUS_PROBLEMS).join('; ');
    const more = r.problems.length > STATUS_PROBLEMS ? ` (and ${r.problems.length - STATUS_PROBLEMS} more in the log)` : '';
    const inForce = this.#current.file ? `sha256 ${this.#current.hash}` : 'the built-in default';
    return `${this.file} on disk is not in force: ${shown}${more}; refused at ${r.at}, still enforcing the policy loaded at ${this.#loadedAt} (${inForce})`;
  }

  /** Called after every reload, good or refused; returns the function that stops it. */
  onReload(listener: (result: PolicyReload) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Read the file again: true when the new policy is in force, false when it was refused. Never rejects. */
  reload(): Promise<boolean> {
    const next = this.#queue.then(() => this.#reloadNow());
    this.#queue = next;
    return next;
  }

  async #reloadNow(): Promise<boolean> {
    let loaded: PolicyLoad;
    try {
      loaded = await loadPolicyFile(this.file, { optional: this.optional });
    } catch (err) {
      // The loader reports problems rather than throwing; this is the last guard for the process.
      loaded = { ok: false, errors: [`${this.file}:1: (file): could not be loaded (${(err as Error).message})`] };
    }
    const result: PolicyReload = loaded.ok ? { ok: true, hash: loaded.loaded.hash } : { ok: false, problems: loaded.errors };
    if (!loaded.ok) {
      this.#refusal = { at: new Date().toISOString(), problems: loaded.errors };
      this.logger?.error(
        { file: this.file, problems: loaded.errors, inForce: this.#current.hash },
        `the changed approval policy does not validate; the previous policy stays in force: ${loaded.errors.join('; ')}`,
      );
    } else {
      const was = this.#current.hash;
      if (loaded.loaded.hash !== was || this.#refusal) {
        this.#loadedAt = new Date().toISOString();
        this.logger?.info({ file: this.file, hash: loaded.loaded.hash, was, rules: loaded.loaded.policy.rules.length }, 'approval policy reloaded');
      }
      this.#current = loaded.loaded;
      this.#refusal = undefined;
    }
    for (const listener of this.#listeners) {
      try {
        listener(result);
      } catch (err) {
        this.logger?.warn({ err: (err as Error).message }, 'a policy reload listener failed');
      }
    }
    return loaded.ok;
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
