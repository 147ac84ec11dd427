/** The baseline for the ack benchmark: a Bolt app that only acks /vm-create, in its own process. */
import { App, LogLevel } from '@slack/bolt';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const app = new App({
  token: process.env.SLACK_BOT_TOKEN!,
  signingSecret: process.env.SLACK_SIGNING_SECRET!,
  logLevel: LogLevel.ERROR,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
});
app.command('/vm-create', async ({ ack }) => {
  await ack();
});
const server = (await app.start(0)) as unknown as Server;
process.stdout.write(`bare bolt listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
process.once('SIGTERM', () => void app.stop().then(() => process.exit(0)));
