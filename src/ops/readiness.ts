/**
 * Readiness: whether this process can do its work now — Slack accepted the token (`auth.test`),
 * VergeOS answered (any call lately, else `GET /system`), the store takes writes — and is not
 * shutting down. Checks run in the background (quickly while failing, every half minute once
 * passing), so `/readyz` answers at once from the last result.
 */
export interface ReadinessCheck {
  name: string;
  /** Resolves when healthy; throws (or returns a problem) when not. */
  run(): Promise<string | undefined>;
  /** What is known without I/O, asked at each report (a full disk met by a write shows at once, not at the next check). */
  now?(): string | undefined;
}

/**
 * A check that spends no call on a service that answered lately: it passes when the service's last
 * good answer (`lastAnswerAt`, epoch ms) is at most `withinMs` old and no call has met trouble
 * since (`lastTroubleAt`), and only otherwise asks (`probe`). A failed probe leaves nothing newer,
 * so the quick re-checks of a failing check probe until it answers.
 */
export function answeredLatelyCheck(
  name: string,
  options: {
    lastAnswerAt: () => number | undefined;
    lastTroubleAt?: () => number | undefined;
    probe: () => Promise<unknown>;
    withinMs: number;
    now?: () => number;
  },
): ReadinessCheck {
  const now = options.now ?? Date.now;
  return {
    name,
    run: async () => {
      const last = options.lastAnswerAt();
      const trouble = options.lastTroubleAt?.();
      const troubledSince = trouble !== undefined && (last === undefined || trouble >= last);
      if (last !== undefined && !troubledSince && now() - last <= options.withinMs) return undefined;
      await options.probe();
      return undefined;
    },
  };
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
  /** What operators should know that does not stop the work (e.g. a policy edit that was refused). */
  warnings: Record<string, string>;
}

export class Readiness {
  readonly #checks: ReadinessCheck[];
  readonly #results = new Map<string, CheckResult>();
  readonly #passingEveryMs: number;
  readonly #failingEveryMs: number;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #warnings = new Map<string, () => string | undefined>();
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

  /**
   * A warning read at each report: the bot still works (so it stays ready) but not as configured,
   * e.g. the policy file on disk was refused and an older policy is in force.
   */
  warnWhen(name: string, now: () => string | undefined): void {
    this.#warnings.set(name, now);
  }

  #warningsNow(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, now] of this.#warnings) {
      const text = now();
      if (text !== undefined) out[name] = text;
    }
    return out;
  }

  /** Shutting down: not ready from now on, and no more checks. */
  stop(): void {
    this.#stopping = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  report(): ReadinessReport {
    this.#refreshLive();
    const checks = Object.fromEntries(this.#results);
    return { ready: !this.#stopping && [...this.#results.values()].every((r) => r.ok), stopping: this.#stopping, checks, warnings: this.#warningsNow() };
  }

  /** A live problem overrides a passing result until the next check (which then finds it too, or not). */
  #refreshLive(): void {
    for (const check of this.#checks) {
      const problem = check.now?.();
      if (problem === undefined || this.#stopping) continue;
      const wasOk = this.#results.get(check.name)?.ok;
      this.#results.set(check.name, { ok: false, problem, at: new Date().toISOString() });
      if (wasOk) {
        // Checked again soon, as any failing check is, so recovery shows quickly.
        clearTimeout(this.#timers.get(check.name));
        const timer = setTimeout(() => void this.#loop(check), this.#failingEveryMs);
        timer.unref();
        this.#timers.set(check.name, timer);
      }
    }
  }

  /** One line for a 503: what is not ready. */
  reason(): string {
    if (this.#stopping) return 'shutting down';
    this.#refreshLive();
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
