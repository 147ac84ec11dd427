/** Every listener, registered by kind (the gate first: it screens what the others receive). */
import type { App } from '@slack/bolt';
import type { BotContext } from '../context.js';
import { register as registerApproval } from './approval.js';
import { register as registerCommands } from './commands.js';
import { register as registerGate } from './gate.js';
import { register as registerHome } from './home.js';
import { register as registerModal } from './modal.js';
import { register as registerOptions } from './options.js';
import { register as registerVms } from './vms.js';

export function registerListeners(app: App, ctx: BotContext): void {
  for (const register of [registerGate, registerCommands, registerModal, registerOptions, registerApproval, registerVms, registerHome]) register(app, ctx);
}
