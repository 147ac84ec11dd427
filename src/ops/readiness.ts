/**
 * Readiness: whether this process can do its work now — Slack accepted the token (`auth.test`),
 * VergeOS answered (`GET /system`), the store takes writes — and is not shutting down. Checks run
 * in the background (quickly while failing, every half minute once passing), so `/readyz` answers
 * at once from the last result.
 */
export interface ReadinessCheck {
  name: string;
  /** Resolves when healthy; throws (or returns a problem) when not. */
  run(): Promise<string | undefined>;
}

export interface CheckResult {
  ok: boolean;
  /** Why not, in words (never a secret: errors are reduced to their message). */
  problem?: string;
  at?: string;
}

export interface ReadinessReport {
  ready: boolean;
  stopping: boolean;
  checks: Record<string, CheckResult>;
}

export class Readiness {
  readonly #checks: ReadinessCheck[];
  readonly #results = new Map<string, CheckResult>();
  readonly #passingEveryMs: number;
  readonly #failingEveryMs: number;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #stopping = false;

  constructor(checks: ReadinessCheck[], options: { passingEveryMs?: number; failingEveryMs?: number } = {}) {
    this.#checks = checks;
    this.#passingEveryMs = options.passingEveryMs ?? 30_000;
    this.#failingEveryMs = options.failingEveryMs ?? 1_000;
    for (const c of checks) this.#results.set(c.name, { ok: false, problem: 'not checked yet' });
  }

  /** Start checking in the background (each check repeats on its own timer). */
  start(): void {
    for (const check of this.#checks) void this.#loop(check);
  }

  /** Shutting down: not ready from now on, and no more checks. */
  stop(): void {
    this.#stopping = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  report(): ReadinessReport {
    const checks = Object.fromEntries(this.#results);
    return { ready: !this.#stopping && [...this.#results.values()].every((r) => r.ok), stopping: this.#stopping, checks };
  }

  /** One line for a 503: what is not ready. */
  reason(): string {
    if (this.#stopping) return 'shutting down';
    return [...this.#results]
      .filter(([, r]) => !r.ok)
      .map(([name, r]) => `${name}: ${r.problem ?? 'failing'}`)
      .join('; ');
  }

  async #loop(check: ReadinessCheck): Promise<void> {
    if (this.#stopping) return;
    let result: CheckResult;
    try {
      const problem = await check.run();
      result = problem === undefined ? { ok: true } : { ok: false, problem };
    } catch (err) {
      result = { ok: false, problem: (err as Error).message };
    }
    if (this.#stopping) return;
    this.#results.set(check.name, { ...result, at: new Date().toISOString() });
    const timer = setTimeout(() => void this.#loop(check), result.ok ? this.#passingEveryMs : this.#failingEveryMs);
    timer.unref();
    this.#timers.set(check.name, timer);
  }
}
