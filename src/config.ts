/**
 * The environment, read once through one zod schema. Every missing or malformed variable is named
 * in a single message; secret values are never echoed.
 */
import { z } from 'zod';
import { CodedError, EXIT } from './errors.js';
import type { VergeosClientOptions } from './vergeos/transport.js';

const boolText = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''], { error: 'must be true or false' })
  .optional()
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const url = (example: string) =>
  z
    .string()
    .optional()
    .refine((v) => v === undefined || /^https?:\/\/[^\s/]+/.test(v), { error: `must be a URL like ${example}` });

const durationText = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v === '') return undefined;
    const m = /^(\d+)\s*(ms|s|m|h|d)?$/.exec(v.trim());
    if (!m) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration like 30m, 24h or 2d' });
      return z.NEVER;
    }
    const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
    return Number(m[1]) * unit;
  });

/** `1000/h`, `20/m`, `2/s` → calls per hour; `off` → undefined (no budget). Default the documented 1000/h. */
const rateText = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v.trim() === '') return 1000;
    if (v.trim().toLowerCase() === 'off') return undefined;
    const m = /^(\d+(?:\.\d+)?)\s*\/\s*(h|m|s)$/.exec(v.trim());
    if (!m || Number(m[1]) <= 0) {
      ctx.addIssue({ code: 'custom', message: 'must be calls per hour, minute or second like 1000/h, 30/m or 2/s, or off' });
      return z.NEVER;
    }
    return Number(m[1]) * { h: 1, m: 60, s: 3600 }[m[2] as 'h' | 'm' | 's'];
  });

/** Comma-separated values, trimmed, blanks dropped; unset: none. */
const commaList = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/** Comma-separated Slack user IDs (U…/W…) and user-group IDs (S…). */
const memberList = commaList.refine((ids) => ids.every((id) => /^[USW][A-Z0-9]+$/.test(id)), {
  error: 'must be comma-separated user IDs (U…) and user-group IDs (S…)',
});

export const envSchema = z.object({
  SLACK_BOT_TOKEN: z
    .string()
    .regex(/^xoxb-/, { error: 'must be a bot token (xoxb-…)' })
    .optional(),
  SLACK_SIGNING_SECRET: z.string().min(8, { error: "must be the app's signing secret" }).optional(),
  SLACK_APP_TOKEN: z
    .string()
    .regex(/^xapp-/, { error: 'must be an app-level token (xapp-…)' })
    .optional(),
  SLACK_API_URL: url('http://127.0.0.1:4000/api/'),
  PORT: z.coerce.number({ error: 'must be a port number' }).int().min(0).max(65535).default(3000),
  VM_APPROVAL_CHANNEL: z
    .string()
    .regex(/^[CG][A-Z0-9]+$/, { error: 'must be a channel ID (C…)' })
    .optional(),
  VM_AUDIT_CHANNEL: z
    .string()
    .regex(/^[CG][A-Z0-9]+$/, { error: 'must be a channel ID (C…)' })
    .optional(),
  VM_APPROVERS: memberList,
  /** Who may request VMs: users and user groups; empty: every full member of the installed workspace. */
  VM_REQUESTERS: memberList,
  /** Most requests one person may have waiting for a decision (leads are not limited). */
  VM_MAX_PENDING_PER_USER: z.coerce.number({ error: 'must be a whole number' }).int().min(1).max(1000).default(5),
  /** Most requests one person may file in an hour (leads are not limited). */
  VM_SUBMISSIONS_PER_HOUR: z.coerce.number({ error: 'must be a whole number' }).int().min(1).max(10_000).default(10),
  VM_REQUEST_TTL: durationText.transform((ms) => ms ?? 24 * 3_600_000),
  /**
   * The bot paces each Slack method a little under Slack's published limit; this multiplies those
   * rates, for a stand-in that allows more (tests, the demo). Leave it at 1 for Slack.
   */
  SLACK_RATE_FACTOR: z.coerce.number({ error: 'must be a number' }).positive({ error: 'must be above 0' }).max(1000).default(1),
  /** Most VMs one Slack request may ask for (a batch). */
  VM_BATCH_MAX: z.coerce.number({ error: 'must be a whole number' }).int().min(1).max(500).default(20),
  /** VMs of one Slack batch provisioned at once. */
  VM_BATCH_CONCURRENCY: z.coerce.number({ error: 'must be a whole number' }).int().min(1).max(32).default(4),
  VERGEOS_URL: url('https://vergeos.example.com'),
  VERGEOS_API_KEY: z.string().min(1).optional(),
  VERGEOS_USERNAME: z.string().min(1).optional(),
  VERGEOS_PASSWORD: z.string().min(1).optional(),
  VERGEOS_CA_FILE: z.string().min(1).optional(),
  VERGEOS_TLS_INSECURE: boolText,
  VERGEOS_MAX_IN_FLIGHT: z.coerce.number({ error: 'must be a whole number' }).int().min(1).max(48).default(8),
  /** VergeOS's documented limit per API key: `1000/h` (default), `N/m`, `N/s`, or `off`. */
  VERGEOS_RATE_LIMIT: rateText,
  /** Calls sent back to back before the rate applies; VergeOS drops a session past ~50 in a burst. */
  VERGEOS_RATE_BURST: z.coerce.number({ error: 'must be a whole number' }).int().min(1).max(1000).default(45),
  /** VergeOS recipe catalogs offered beside the YAML recipes (comma-separated names); empty: every catalog. */
  VERGEOS_RECIPE_CATALOGS: commaList,
  /** How long lists of clusters, networks, media, tiers and device groups are reused (form, pre-flight, options). */
  VERGEOS_INVENTORY_TTL: durationText.transform((ms) => ms ?? 60_000),
  /** How often runs poll VergeOS while waiting (imports, power-off during cleanup). */
  VMBOT_POLL_INTERVAL: durationText.transform((ms) => ms ?? 5_000),
  /** Finished runs and decided requests older than this move to DATA_DIR/archive.jsonl at start. */
  VMBOT_ARCHIVE_AFTER: durationText.transform((ms) => ms ?? 30 * 86_400_000),
  DATA_DIR: z.string().min(1).default('./data'),
  /** Keep requests and runs in PostgreSQL (postgres://user:password@host:5432/db) instead of DATA_DIR's file. */
  DATABASE_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined || /^postgres(ql)?:\/\/\S+$/.test(v), { error: 'must be a URL like postgres://vmbot:password@db.example.com:5432/vmbot' }),
  /** The approval policy; default MANIFESTS_DIR/policy.yml (absent: one approval from VM_APPROVERS). */
  POLICY_FILE: z.string().min(1).optional(),
  MANIFESTS_DIR: z.string().min(1).default('./manifests'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` (one object a line), `pretty` (for people), or `auto`: pretty when the log goes to a terminal. */
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty'], { error: 'must be auto, json or pretty' }).default('auto'),
  /** Socket Mode: the port for /healthz, /readyz and /metrics (HTTP mode serves them on PORT). Unset: not served. */
  HEALTH_PORT: z.coerce.number({ error: 'must be a port number' }).int().min(0).max(65535).optional(),
  /** With DATABASE_URL: how long a bot process holds a run before another may continue it (it renews while alive). */
  RUN_CLAIM_TTL: durationText.transform((ms) => ms ?? 30_000),
  /** How long a SIGTERM/SIGINT may take: the VergeOS call in flight finishes and is saved, then the process exits. */
  SHUTDOWN_TIMEOUT: durationText.transform((ms) => ms ?? 20_000),
});

export type Env = z.output<typeof envSchema>;

/** What a command needs: VergeOS access, and/or the Slack app's settings. */
export type ConfigNeed = 'vergeos' | 'slack';

/** The environment is wrong: every problem named, a command ends as bad input. */
export class ConfigError extends CodedError {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super('CONFIG_INVALID', `Configuration problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { exitCode: EXIT.badInput });
  }
}

const REQUIRED_FOR: Record<ConfigNeed, Array<keyof Env>> = {
  vergeos: ['VERGEOS_URL'],
  slack: ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'VM_APPROVAL_CHANNEL', 'VM_AUDIT_CHANNEL', 'VM_APPROVERS'],
};

/** Parse the environment; throws one ConfigError naming every problem (never a secret's value). */
export function loadConfig(source: NodeJS.ProcessEnv, needs: ConfigNeed[] = []): Env {
  const raw = Object.fromEntries(Object.keys(envSchema.shape).map((k) => [k, source[k] === '' ? undefined : source[k]]));
  const parsed = envSchema.safeParse(raw);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${String(issue.path[0])} ${issue.message}`);
  }
  const env = parsed.success ? parsed.data : undefined;
  for (const need of needs) {
    for (const key of REQUIRED_FOR[need]) {
      const value = env ? env[key] : raw[key];
      if (value === undefined || (Array.isArray(value) && value.length === 0)) {
        if (!problems.some((p) => p.startsWith(`${key} `))) problems.push(`${key} is required`);
      }
    }
    if (need === 'vergeos') {
      const hasKey = raw.VERGEOS_API_KEY !== undefined;
      const hasUser = raw.VERGEOS_USERNAME !== undefined || raw.VERGEOS_PASSWORD !== undefined;
      if (!hasKey && !hasUser) problems.push('VERGEOS_API_KEY (or VERGEOS_USERNAME and VERGEOS_PASSWORD) is required');
      if (!hasKey && hasUser && (raw.VERGEOS_USERNAME === undefined || raw.VERGEOS_PASSWORD === undefined)) {
        problems.push(
          `${raw.VERGEOS_USERNAME === undefined ? 'VERGEOS_USERNAME' : 'VERGEOS_PASSWORD'} is required with ${raw.VERGEOS_USERNAME === undefined ? 'VERGEOS_PASSWORD' : 'VERGEOS_USERNAME'}`,
        );
      }
    }
  }
  if (problems.length || !env) throw new ConfigError(problems);
  return env;
}

/** Client options from a loaded config (call only after loadConfig(…, ['vergeos'])). */
export function vergeosClientOptions(env: Env): Omit<VergeosClientOptions, 'logger'> {
  return {
    url: env.VERGEOS_URL!,
    auth: env.VERGEOS_API_KEY ? { apiKey: env.VERGEOS_API_KEY } : { username: env.VERGEOS_USERNAME!, password: env.VERGEOS_PASSWORD! },
    ...(env.VERGEOS_CA_FILE ? { caFile: env.VERGEOS_CA_FILE } : {}),
    insecure: env.VERGEOS_TLS_INSECURE,
    maxInFlight: env.VERGEOS_MAX_IN_FLIGHT,
    ...(env.VERGEOS_RATE_LIMIT === undefined ? {} : { rateLimit: { perHour: env.VERGEOS_RATE_LIMIT, burst: env.VERGEOS_RATE_BURST } }),
  };
}
