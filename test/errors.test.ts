import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliExit, EXIT as CLI_EXIT } from '../src/cli/exit.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { CodedError, EXIT, hasCode, isBusy, isConflict } from '../src/errors.js';
import { PolicyLoadError } from '../src/policy/watch.js';
import { SlackApiError } from '../src/slack/web-api.js';
import { VergeosClient } from '../src/vergeos/client.js';
import { operatorMessage, VergeosError } from '../src/vergeos/errors.js';
import { Semaphore } from '../src/vergeos/semaphore.js';
import { runVmbot } from './helpers/cli.js';

describe('CodedError', () => {
  it('carries a code, the sentence as its message, and ends a command as failed unless it says otherwise', () => {
    const cause = new Error('disk gone');
    const plain = new CodedError('SOMETHING_BROKE', 'Something broke.', { cause });
    expect(plain).toBeInstanceOf(Error);
    expect([plain.code, plain.message, plain.exitCode, plain.cause, plain.name]).toEqual([
      'SOMETHING_BROKE',
      'Something broke.',
      EXIT.failed,
      cause,
      'CodedError',
    ]);
    expect(new CodedError('WRONG_INPUT', 'That input is wrong.', { exitCode: EXIT.badInput }).exitCode).toBe(2);
    expect(new CodedError('X', 'x').cause).toBeUndefined();
    expect(EXIT).toEqual({ ok: 0, failed: 1, badInput: 2 });
  });

  it('isBusy: a run executing or a compare-and-set lost; nothing else, and never a look-alike', () => {
    expect(isBusy(new CodedError('RUN_BUSY', 'That run is executing.'))).toBe(true);
    expect(isBusy(new CodedError('STORE_CONFLICT', 'The record changed.'))).toBe(true);
    expect(isBusy(new CodedError('STORE_UNWRITABLE', 'The disk is full.'))).toBe(false);
    expect(isBusy(Object.assign(new Error('busy'), { code: 'RUN_BUSY' }))).toBe(false);
    expect(isBusy({ code: 'STORE_CONFLICT' })).toBe(false);
    expect(isBusy(undefined)).toBe(false);
  });

  it('isConflict: only a lost compare-and-set', () => {
    expect(isConflict(new CodedError('STORE_CONFLICT', 'The record changed.'))).toBe(true);
    expect(isConflict(new CodedError('RUN_BUSY', 'That run is executing.'))).toBe(false);
    expect(isConflict(Object.assign(new Error('conflict'), { code: 'STORE_CONFLICT' }))).toBe(false);
  });

  it('hasCode: any of the codes given, on a coded error only', () => {
    const err = new CodedError('VERGEOS_NOT_FOUND', 'Not there.');
    expect(hasCode(err, 'VERGEOS_NOT_FOUND')).toBe(true);
    expect(hasCode(err, 'VERGEOS_TIMEOUT', 'VERGEOS_NOT_FOUND')).toBe(true);
    expect(hasCode(err, 'VERGEOS_TIMEOUT')).toBe(false);
    expect(hasCode(err)).toBe(false);
    expect(hasCode(Object.assign(new Error('x'), { code: 'VERGEOS_NOT_FOUND' }), 'VERGEOS_NOT_FOUND')).toBe(false);
  });
});

describe('the error classes are CodedErrors with stable codes', () => {
  it('VergeosError: its code, ends a command as failed, message and operator sentence unchanged', () => {
    const err = new VergeosError({
      code: 'VERGEOS_NOT_FOUND',
      status: 404,
      endpoint: 'GET /api/v4/vms/7',
      vergeosMessage: "VM '7' not found",
      retrySafe: true,
    });
    expect(err).toBeInstanceOf(CodedError);
    expect([err.code, err.exitCode, err.name]).toEqual(['VERGEOS_NOT_FOUND', EXIT.failed, 'VergeosError']);
    expect(err.message).toBe("VERGEOS_NOT_FOUND 404 on GET /api/v4/vms/7: VM '7' not found");
    expect(operatorMessage(err)).toBe('VergeOS could not find something this request refers to (404). VergeOS said: "VM \'7\' not found".');
    expect(hasCode(err, 'VERGEOS_NOT_FOUND')).toBe(true);
    expect(err.toJSON()).toMatchObject({ name: 'VergeosError', code: 'VERGEOS_NOT_FOUND', status: 404 });
  });

  it('ConfigError: CONFIG_INVALID, ends a command as bad input', () => {
    let err: unknown;
    try {
      loadConfig({}, ['vergeos']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toBeInstanceOf(CodedError);
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', exitCode: EXIT.badInput, name: 'ConfigError' });
    expect((err as ConfigError).problems).toContain('VERGEOS_URL is required');
  });

  it('PolicyLoadError: POLICY_INVALID, ends a command as bad input', () => {
    const err = new PolicyLoadError(['policy.yml:3: rules must be a list']);
    expect(err).toBeInstanceOf(CodedError);
    expect([err.code, err.exitCode, err.name]).toEqual(['POLICY_INVALID', EXIT.badInput, 'PolicyLoadError']);
    expect(err.message).toBe('The approval policy does not validate:\npolicy.yml:3: rules must be a list');
  });

  it("SlackApiError: SLACK_RATE_LIMITED or SLACK_API_ERROR, with Slack's own error kept", () => {
    const limited = new SlackApiError('chat.postMessage', 'ratelimited', 3_000);
    const refused = new SlackApiError('views.open', 'expired_trigger_id');
    expect(limited).toBeInstanceOf(CodedError);
    expect([limited.code, limited.error, limited.retryAfterMs, limited.exitCode]).toEqual(['SLACK_RATE_LIMITED', 'ratelimited', 3_000, EXIT.failed]);
    expect([refused.code, refused.error, refused.message]).toEqual(['SLACK_API_ERROR', 'expired_trigger_id', 'Slack views.open failed: expired_trigger_id']);
  });

  it('CliExit: built from an exit code as before; a stable code per exit code, the number as exitCode', () => {
    expect(CLI_EXIT).toBe(EXIT);
    const cases = [
      [new CliExit(EXIT.ok, ''), 'CLI_DONE', 0],
      [new CliExit(EXIT.failed, 'apply failed'), 'CLI_FAILED', 1],
      [new CliExit(EXIT.badInput, '--to must be a Slack user id'), 'CLI_BAD_INPUT', 2],
    ] as const;
    for (const [err, code, exitCode] of cases) {
      expect(err).toBeInstanceOf(CodedError);
      expect([err.code, err.exitCode, err.name]).toEqual([code, exitCode, 'CliExit']);
    }
    expect(cases[2][0].message).toBe('--to must be a Slack user id');
  });

  it('VergeOS client settings: a coded error naming the setting, ends a command as bad input', () => {
    const refused = (make: () => unknown): unknown => {
      try {
        make();
      } catch (err) {
        return err;
      }
      return undefined;
    };
    expect(refused(() => new Semaphore(0))).toMatchObject({ code: 'VERGEOS_SETTING_INVALID', exitCode: EXIT.badInput });
    const badUrl = refused(() => new VergeosClient({ url: 'vergeos', auth: { apiKey: 'k' } }));
    expect(badUrl).toBeInstanceOf(CodedError);
    expect(badUrl).toMatchObject({ code: 'VERGEOS_URL_INVALID', exitCode: EXIT.badInput });
    expect(refused(() => new VergeosClient({ url: 'https://vergeos.example.com', auth: { apiKey: '' } }))).toMatchObject({
      code: 'VERGEOS_CREDENTIALS_MISSING',
      message: 'VergeOS API key is empty',
    });
    expect(refused(() => new VergeosClient({ url: 'https://vergeos.example.com', auth: { apiKey: 'k' }, caFile: '/nonexistent/ca.pem' }))).toMatchObject({
      code: 'VERGEOS_CA_UNREADABLE',
      exitCode: EXIT.badInput,
    });
  });
});

describe('vmbot ends on any coded error with its sentence and exit code', () => {
  it('a VergeOS URL with credentials in it: the sentence on stderr, exit 2 (bad input)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmbot-errors-'));
    try {
      const out = await runVmbot(['resume', '--all'], { VERGEOS_URL: 'https://user:pw@127.0.0.1:1', VERGEOS_API_KEY: 'k', DATA_DIR: dir });
      expect(out.stderr).toBe('vmbot: VergeOS URL must not contain credentials; use the API key or username/password settings\n');
      expect(out.code).toBe(EXIT.badInput);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
