/** Exponential backoff with full jitter, so many clients retrying at once spread out. */
export interface RetryPolicy {
  /** Extra attempts after the first one. */
  retries: number;
  baseMs: number;
  maxMs: number;
}

export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
  return random() * ceiling;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
