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
  /** A multi-channel guest (is_restricted) and a single-channel guest (is_ultra_restricted). */
  guest: 'U0GUEST',
  singleChannelGuest: 'U0SCGUEST',
  /** Someone from another company in a shared (Slack Connect) channel, and their team. */
  external: 'U0EXTERNAL',
  otherTeam: 'T0OTHERCO',
  leadsGroup: 'S0LEADS',
  /** A user group with the requester in it (for VM_REQUESTERS). */
  devsGroup: 'S0DEVS',
  approvalChannel: 'C0APPROVALS',
  auditChannel: 'C0AUDIT',
  generalChannel: 'C0GENERAL',
} as const;
