/** The app manifest: valid against Slack's own schema, the command we handle, exactly the scopes the code uses. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { COMMAND } from '../../src/slack/listeners/commands/vm-create.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const manifest = parse(readFileSync(join(root, 'slack-app-manifest.yml'), 'utf8'));

/** The scope each Web API method the bot calls needs (views.* and auth.test need none). */
const SCOPE_OF: Record<string, string | null> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'chat.getPermalink': null,
  'conversations.open': 'im:write',
  'usergroups.users.list': 'usergroups:read',
  'users.info': 'users:read',
  'views.open': null,
  'views.update': null,
  'views.publish': null,
  'views.push': null,
  'auth.test': null,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const path = join(dir, f);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('slack-app-manifest.yml', () => {
  it("is valid against Slack's manifest schema", () => {
    const schema = JSON.parse(readFileSync(join(root, 'test/fixtures/slack-manifest-schema/manifest.schema.1.0.0.json'), 'utf8'));
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    const valid = ajv.validate(schema, manifest);
    expect(ajv.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('declares the command the bot handles, with a usage hint, interactivity, App Home and Socket Mode', () => {
    const command = manifest.features.slash_commands.find((c: { command: string }) => c.command === COMMAND);
    expect(command.usage_hint).toBe('[recipe [name] | help | list | mine | status REQ-n]');
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(['app_home_opened']);
    expect(manifest.settings.socket_mode_enabled).toBe(true);
  });

  it('asks for exactly the bot scopes the code uses', () => {
    const used = new Set<string>();
    for (const file of sourceFiles(join(root, 'src/slack'))) {
      const source = readFileSync(file, 'utf8');
      for (const m of source.matchAll(/(?:client|slack)\.(chat|views|conversations|usergroups|users)\.(\w+(?:\.\w+)?)\(/g)) used.add(`${m[1]}.${m[2]}`);
      // The notifier's paced calls name the method as a string.
      for (const m of source.matchAll(/#call\(\s*'((?:chat|views|conversations|usergroups|users)\.[\w.]+)'/g)) used.add(m[1]!);
      // Direct calls through the Web API client (readiness, the requester check).
      for (const m of source.matchAll(/\.call\(\s*'((?:auth|chat|views|conversations|usergroups|users)\.[\w.]+)'/g)) used.add(m[1]!);
    }
    expect([...used].sort()).toEqual([
      'auth.test',
      'chat.getPermalink',
      'chat.postEphemeral',
      'chat.postMessage',
      'chat.update',
      'conversations.open',
      'usergroups.users.list',
      'users.info',
      'views.open',
      'views.publish',
      'views.update',
    ]);
    const needed = new Set(['commands', ...[...used].map((m) => SCOPE_OF[m]).filter((s): s is string => Boolean(s))]);
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...needed].sort());
  });
});
