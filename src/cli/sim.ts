import { createHmac } from 'node:crypto';
import { request } from 'undici';
import { SIM_DEFAULT_API_KEY, SIM_DEFAULT_USER, SIM_READONLY_API_KEY, startVergeosSim } from '../sim/index.js';
import { SLACK_SIM, SLACK_SIM_BOT_TOKEN, SLACK_SIM_SIGNING_SECRET, startSlackSim } from '../sim/slack-sim.js';
import { remoteTriggers } from '../sim/slack-driver.js';

/** `addressMs`: how long a guest takes to report a NIC's address (`--address-ms`; the simulator's default when absent). */
export async function simCommand(opts: { port: number; host: string; importMs: number; latencyMs: number; addressMs?: number }): Promise<void> {
  const sim = await startVergeosSim({
    port: opts.port,
    host: opts.host,
    timing: { importMs: opts.importMs, ...(opts.addressMs === undefined ? {} : { addressMs: opts.addressMs }) },
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
}

export async function slackSimCommand(opts: { port: number; rateFactor: number; rateLimits: boolean }): Promise<void> {
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
}

export async function slackSendCommand(words: string[], opts: { bot: string; slack: string; user: string; secret: string; curl?: boolean }): Promise<void> {
  const triggers = remoteTriggers(opts.slack);
  const trigger = await triggers.issueTrigger(opts.user);
  const body = new URLSearchParams({
    team_id: SLACK_SIM.team,
    channel_id: SLACK_SIM.generalChannel,
    user_id: opts.user,
    command: '/vm-create',
    text: words.join(' '),
    trigger_id: trigger,
    response_url: 'https://hooks.slack.test/x',
  }).toString();
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = `v0=${createHmac('sha256', opts.secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  if (opts.curl) {
    process.stdout.write(
      `curl -s -X POST ${opts.bot}/slack/events -H 'content-type: application/x-www-form-urlencoded' -H 'x-slack-request-timestamp: ${timestamp}' -H 'x-slack-signature: ${signature}' --data '${body}'\n`,
    );
    return;
  }
  const res = await request(`${opts.bot}/slack/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signature },
    body,
  });
  const text = await res.body.text();
  process.stdout.write(`${res.statusCode} ${text || '(empty: acknowledged; see the stand-in for what the bot did)'}\n`);
}
