/** The command's name where the manifest test reads it (the command itself is in commands/vm-create.ts). */
export { COMMAND } from './commands/vm-create.js';
