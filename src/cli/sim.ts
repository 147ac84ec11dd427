import { createHmac } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import { request } from 'undici';
import { SIM_DEFAULT_API_KEY, SIM_DEFAULT_USER, SIM_READONLY_API_KEY, startVergeosSim } from '../sim/index.js';
import { SLACK_SIM, SLACK_SIM_BOT_TOKEN, SLACK_SIM_SIGNING_SECRET, startSlackSim } from '../sim/slack-sim.js';
import { remoteTriggers } from '../sim/slack-driver.js';

export function register(program: Command): void {
  program
    .command('sim')
    .description('run the VergeOS simulator on loopback (for trying the bot, tests and benchmarks)')
    .option('-p, --port <n>', 'port to listen on (0 = any free port)', parsePort, 8444)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--import-ms <ms>', 'how long import drives stay "importing"', parseNonNegative, 2000)
    .option('--latency-ms <ms>', 'latency added to every API call', parseNonNegative, 0)
    .action(async (opts: { port: number; host: string; importMs: number; latencyMs: number }) => {
      const sim = await startVergeosSim({
        port: opts.port,
        host: opts.host,
        timing: { importMs: opts.importMs },
        faults: opts.latencyMs > 0 ? [{ route: '*', latencyMs: opts.latencyMs }] : [],
      });
      const lines = [
        `VergeOS simulator listening on ${sim.url} (API at ${sim.url}/api/v4)`,
        `  API key:            ${SIM_DEFAULT_API_KEY}   (read-only: ${SIM_READONLY_API_KEY})`,
        `  basic auth:         ${SIM_DEFAULT_USER.username} / ${SIM_DEFAULT_USER.password}`,
        `  try:                curl -H 'Authorization: Bearer ${SIM_DEFAULT_API_KEY}' ${sim.url}/api/v4/clusters`,
        `  inject a fault:     curl -X POST ${sim.url}/__sim/faults -d '{"route":"POST /vms","nth":1,"status":503}'`,
        `  requests received:  ${sim.url}/__sim/requests`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      const stop = () => void sim.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

export function registerSlackSim(program: Command): void {
  program
    .command('slack-sim')
    .description('run the Slack Web API stand-in on loopback (point the bot at it with SLACK_API_URL)')
    .option('-p, --port <n>', 'port to listen on (0 = any free port)', parsePort, 8455)
    .option('--rate-factor <x>', "enforce Slack's rate limits this many times faster (the bot's SLACK_RATE_FACTOR must match)", parseFactor, 1)
    .option('--no-rate-limits', "do not enforce Slack's rate limits at all")
    .action(async (opts: { port: number; rateFactor: number; rateLimits: boolean }) => {
      const sim = await startSlackSim({ port: opts.port, rateFactor: opts.rateFactor, rateLimits: opts.rateLimits });
      const lines = [
        `Slack stand-in listening; SLACK_API_URL=${sim.apiUrl}`,
        `  bot token:        ${SLACK_SIM_BOT_TOKEN}`,
        `  signing secret:   ${SLACK_SIM_SIGNING_SECRET}`,
        `  channels:         approvals ${SLACK_SIM.approvalChannel}, audit ${SLACK_SIM.auditChannel}; lead group ${SLACK_SIM.leadsGroup}`,
        `  what it shows:    ${sim.apiUrl.replace(/api\/$/, '')}__sim/state`,
        `  rate limits:      ${opts.rateLimits ? `Slack's${opts.rateFactor === 1 ? '' : ` × ${opts.rateFactor} (start the bot with SLACK_RATE_FACTOR=${opts.rateFactor})`}; over them: HTTP 429 ratelimited` : 'off'}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      const stop = () => void sim.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

export function registerSlackSend(program: Command): void {
  program
    .command('slack-send')
    .description('send the bot a signed `/vm-create TEXT` as Slack would (for exploring a running demo by hand)')
    .requiredOption('--bot <url>', 'the bot, e.g. http://127.0.0.1:3000')
    .requiredOption('--slack <url>', 'the Slack stand-in SLACK_API_URL (it issues the trigger id)')
    .option('--user <id>', 'who types it', SLACK_SIM.requester)
    .option('--secret <s>', 'signing secret', SLACK_SIM_SIGNING_SECRET)
    .option('--curl', 'print a signed curl command (valid for 5 minutes) instead of sending')
    .argument('[text...]', 'what follows /vm-create')
    .action(async (words: string[], opts: { bot: string; slack: string; user: string; secret: string; curl?: boolean }) => {
      const triggers = remoteTriggers(opts.slack);
      const trigger = await triggers.issueTrigger(opts.user);
      const body = new URLSearchParams({ team_id: SLACK_SIM.team, channel_id: SLACK_SIM.generalChannel, user_id: opts.user, command: '/vm-create', text: words.join(' '), trigger_id: trigger, response_url: 'https://hooks.slack.test/x' }).toString();
      const timestamp = Math.floor(Date.now() / 1000);
      const signature = `v0=${createHmac('sha256', opts.secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
      if (opts.curl) {
        process.stdout.write(`curl -s -X POST ${opts.bot}/slack/events -H 'content-type: application/x-www-form-urlencoded' -H 'x-slack-request-timestamp: ${timestamp}' -H 'x-slack-signature: ${signature}' --data '${body}'\n`);
        return;
      }
      const res = await request(`${opts.bot}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signature }, body });
      const text = await res.body.text();
      process.stdout.write(`${res.statusCode} ${text || '(empty: acknowledged; see the stand-in for what the bot did)'}\n`);
    });
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return n;
}

function parseNonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of milliseconds, 0 or more');
  return n;
}

function parseFactor(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 1000) throw new InvalidArgumentError('expected a number above 0 (1 = Slack\'s own limits)');
  return n;
}
