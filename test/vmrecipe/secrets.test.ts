/** Secret answers: masked for display, split off before storing, redacted from echoes, cloud-init and logs. */
import { describe, expect, it } from 'vitest';
import { simulationReportSchema } from '../../src/vergeos/recipe-types.js';
import { checkAnswers } from '../../src/vmrecipe/answers.js';
import { maskAnswers, maskResolvedAnswers, redactSecrets, SECRET_MASK, splitSecrets } from '../../src/vmrecipe/secrets.js';
import { question, ubuntuQuestions } from './recipe-fixture.js';

const PASSWORD = 'S3cret-pass!"x';
const questions = [...ubuntuQuestions(), question({ name: 'API_TOKEN', display: 'Token', type: 'string', dont_store: true })];
const checked = checkAnswers({ YB_HOSTNAME: 'web-01', YB_PASSWORD: PASSWORD, YB_RAM: '8GiB', API_TOKEN: 'tk-123456' }, questions);
if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
const answers = checked.answers;

describe('secrets', () => {
  it('maskAnswers: a copy with each password and dont_store answer masked, the rest as given', () => {
    expect(SECRET_MASK).toBe('••••••');
    expect(maskAnswers(answers, questions)).toEqual({ YB_RAM: 8192, YB_HOSTNAME: 'web-01', YB_PASSWORD: '••••••', API_TOKEN: '••••••' });
    expect(answers.YB_PASSWORD).toBe(PASSWORD);
  });

  it('splitSecrets: what may be stored, and what is held in memory until the deploy', () => {
    expect(splitSecrets(answers, questions)).toEqual({
      kept: { YB_RAM: 8192, YB_HOSTNAME: 'web-01' },
      secrets: { YB_PASSWORD: PASSWORD, API_TOKEN: 'tk-123456' },
    });
  });

  it("maskResolvedAnswers: a simulation's echo masked by question type and dont_store, secret-looking unknown keys masked, secrets inside other answers redacted", () => {
    const report = simulationReportSchema.parse({
      cloudinit_files: [{ name: 'user-data', contents: `#cloud-config\npassword: ${PASSWORD}\nchpasswd: { expire: false }\n` }],
      logs: [`Set password to ${PASSWORD} for ubuntu`, 'Token tk-123456 used'],
      answers: {
        YB_RAM: '8192',
        YB_PASSWORD: PASSWORD,
        API_TOKEN: 'tk-123456',
        YB_ROOT_PASSWD: 'whatever',
        YB_NOTE: `user ubuntu / ${PASSWORD}`,
        YB_EXTRA: { nested: `tk-123456 and ${PASSWORD}` },
        YB_PIN_COPY: 123456,
      },
    });
    const { secrets } = splitSecrets(answers, questions);
    const masked = maskResolvedAnswers(report.answers, questions, { ...secrets, PIN: 123456 });
    expect(masked).toEqual({
      YB_RAM: '8192',
      YB_PASSWORD: '••••••',
      API_TOKEN: '••••••',
      YB_ROOT_PASSWD: '••••••',
      YB_NOTE: 'user ubuntu / ••••••',
      YB_EXTRA: { nested: '•••••• and ••••••' },
      YB_PIN_COPY: '••••••',
    });
    const files = report.cloudInitFiles.map((f) => redactSecrets(f.contents, secrets));
    expect(files).toEqual(['#cloud-config\npassword: ••••••\nchpasswd: { expire: false }\n']);
    expect(report.logs.map((line) => redactSecrets(line, secrets))).toEqual(['Set password to •••••• for ubuntu', 'Token •••••• used']);
    expect(JSON.stringify([masked, files])).not.toContain('S3cret');
  });

  it('redactSecrets: every occurrence, as typed and as JSON escapes it, the longest secret first; empty secrets ignored', () => {
    expect(redactSecrets(`a ${PASSWORD} b ${PASSWORD}`, [PASSWORD])).toBe('a •••••• b ••••••');
    expect(redactSecrets(JSON.stringify({ p: PASSWORD }), [PASSWORD])).toBe('{"p":"••••••"}');
    expect(redactSecrets('hunter2hunter', ['hunter', 'hunter2hunter', ''])).toBe('••••••');
    expect(redactSecrets('nothing here', {})).toBe('nothing here');
  });

  it('a nested echo that no longer reads as JSON once redacted is masked whole', () => {
    expect(maskResolvedAnswers({ LIST: [12345, 1] }, [], ['1234'])).toEqual({ LIST: '••••••' });
  });
});
