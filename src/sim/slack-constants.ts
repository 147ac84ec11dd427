/** The Slack stand-in's fixed workspace: tokens, team, users and channels. */
export const SLACK_SIM_BOT_TOKEN = 'xoxb-sim-bot-token';
export const SLACK_SIM_SIGNING_SECRET = 'sim-signing-secret-0123456789';
export const SLACK_SIM = {
  team: 'T0SIMTEAM',
  bot: 'U0VMBOT',
  requester: 'U0REQUESTER',
  lead1: 'U0LEAD1',
  lead2: 'U0LEAD2',
  bystander: 'U0BYSTANDER',
  leadsGroup: 'S0LEADS',
  approvalChannel: 'C0APPROVALS',
  auditChannel: 'C0AUDIT',
  generalChannel: 'C0GENERAL',
} as const;
