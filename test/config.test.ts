import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, vergeosClientOptions } from '../src/config.js';

describe('configuration', () => {
  it('names every bad or missing variable in one message, without echoing secrets', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ SLACK_BOT_TOKEN: 'xoxp-user-token-hunter2', VM_APPROVERS: 'U123,bob', VERGEOS_URL: 'vergeos', PORT: 'eighty', VERGEOS_USERNAME: 'svc' }, [
        'vergeos',
        'slack',
      ]);
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toEqual([
      'SLACK_BOT_TOKEN must be a bot token (xoxb-…)',
      'PORT must be a port number',
      'VM_APPROVERS must be comma-separated user IDs (U…) and user-group IDs (S…)',
      'VERGEOS_URL must be a URL like https://vergeos.example.com',
      'VERGEOS_PASSWORD is required with VERGEOS_USERNAME',
      'SLACK_SIGNING_SECRET is required',
      'VM_APPROVAL_CHANNEL is required',
      'VM_AUDIT_CHANNEL is required',
    ]);
    expect(error!.message).not.toContain('hunter2');
  });

  it('reads a good environment with defaults', () => {
    const env = loadConfig(
      { VERGEOS_URL: 'https://v.example.com', VERGEOS_API_KEY: 'k', VM_REQUEST_TTL: '2d', VERGEOS_TLS_INSECURE: 'true', VMBOT_POLL_INTERVAL: '250ms' },
      ['vergeos'],
    );
    expect(env).toMatchObject({
      PORT: 3000,
      DATA_DIR: './data',
      VM_REQUEST_TTL: 2 * 86_400_000,
      VERGEOS_TLS_INSECURE: true,
      VMBOT_POLL_INTERVAL: 250,
      VERGEOS_MAX_IN_FLIGHT: 8,
    });
    expect(vergeosClientOptions(env)).toMatchObject({ url: 'https://v.example.com', auth: { apiKey: 'k' }, insecure: true, maxInFlight: 8 });
    expect(loadConfig({}, []).VM_REQUEST_TTL).toBe(86_400_000);
  });
});
