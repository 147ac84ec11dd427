/** Log lines: JSON for machines, one readable line for people, secrets redacted in both. */
import { describe, expect, it } from 'vitest';
import { captureLogger } from './helpers/logs.js';

describe('logs', () => {
  it('JSON by default, with secret fields redacted', () => {
    const { logger, lines } = captureLogger('info');
    logger.info({ runId: 'run-1', auth: { apiKey: 'k-123' } }, 'run started');
    logger.debug({}, 'not at info');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, name: 'vmbot', msg: 'run started', runId: 'run-1', auth: { apiKey: '***' } });
  });

  it('pretty: time, level, message and fields on one line, the same redaction', () => {
    const { logger, lines } = captureLogger('info', 'pretty');
    logger.warn({ endpoint: 'GET /api/v4/vms', attempt: 2, password: 'hunter2', note: 'two words' }, 'VergeOS call failed; retrying');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} WARN {2}VergeOS call failed; retrying endpoint="GET \/api\/v4\/vms" attempt=2 password=\*\*\* note="two words"$/,
    );
    expect(lines[0]).not.toContain('hunter2');
  });
});
