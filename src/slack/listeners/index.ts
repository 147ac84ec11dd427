/**
 * Every listener, registered by kind (one handler a file, each kind's index.ts registering its
 * own). The purpose first (a person's calls), then the gate: it screens what the others receive.
 */
import type { App } from '@slack/bolt';
import type { BotContext } from '../context.js';
import { register as registerActions } from './actions/index.js';
import { register as registerCommands } from './commands/index.js';
import { register as registerEvents } from './events/index.js';
import { register as registerGate } from './gate.js';
import { register as registerOptions } from './options/index.js';
import { register as registerPurpose } from './purpose.js';
import { register as registerViews } from './views/index.js';

export function registerListeners(app: App, ctx: BotContext): void {
  for (const register of [registerPurpose, registerGate, registerCommands, registerActions, registerViews, registerOptions, registerEvents]) register(app, ctx);
}
