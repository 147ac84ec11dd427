/**
 * Everything a Slack event sets off is a person's doing: its VergeOS calls are counted and budgeted
 * as `user` (served before background work). Workflows it starts label their own (provision,
 * change, preflight), which win.
 */
import type { App } from '@slack/bolt';
import { withPurpose } from '../../vergeos/purpose.js';

export function register(app: App): void {
  app.use(({ next }) => withPurpose('user', next));
}
