/**
 * The bot's timers in one place: each job named, with its interval, whether only the leading bot
 * process runs it (the store elects one), and how a failure is logged. A job never overlaps
 * itself through the scheduler: a tick that comes while the job's last run is still going (paced
 * by the VergeOS request budget, say) is skipped, not queued behind it. Nothing starts once stopping.
 */
import type { Logger } from './log.js';

export interface Job {
  name: string;
  everyMs: number;
  run: () => Promise<void>;
  /** Run only in the process that leads (background sweeps); any process otherwise (take-over). */
  led: boolean;
  /** How a failure is logged: `error` for work that must happen, `warn` for a best-effort check. */
  failure?: 'error' | 'warn';
}

export class Scheduler {
  readonly #timers: NodeJS.Timeout[] = [];
  #stopping = false;

  constructor(
    private readonly leads: () => Promise<boolean>,
    private readonly logger: Logger,
  ) {}

  get stopping(): boolean {
    return this.#stopping;
  }

  /** Run `job` every `job.everyMs` from now on (until `stop`). */
  every(job: Job): void {
    // Held from the tick's start (the leader check included) until its run settles.
    let running = false;
    const tick = async () => {
      if (this.#stopping || (job.led && !(await this.leads()))) return;
      await job.run();
    };
    const timer = setInterval(() => {
      if (running) {
        this.logger.debug({ job: job.name }, `${job.name} is still running from an earlier tick; this tick is skipped`);
        return;
      }
      running = true;
      void tick()
        .catch((err: unknown) => this.logger[job.failure ?? 'error']({ job: job.name, err: (err as Error).message }, `${job.name} failed`))
        .finally(() => {
          running = false;
        });
    }, job.everyMs);
    timer.unref();
    this.#timers.push(timer);
  }

  stop(): void {
    this.#stopping = true;
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
  }
}
