/** Answers to a VergeOS recipe: read into the API's units, checked, every error at once, no secret in any. */
import { describe, expect, it } from 'vitest';
import { answersOrThrow, checkAnswers, RecipeAnswersError, type CheckedAnswers } from '../../src/vmrecipe/answers.js';
import { question, SECTIONS, ubuntuQuestions } from './recipe-fixture.js';

const REQUIRED = { YB_HOSTNAME: 'web-01', YB_PASSWORD: 'S3cret-pass!' };
const check = (given: Record<string, unknown>): CheckedAnswers => checkAnswers({ ...REQUIRED, ...given }, ubuntuQuestions(), { sections: SECTIONS });
const answers = (given: Record<string, unknown>) => {
  const checked = check(given);
  if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
  return checked.answers;
};
const errors = (given: Record<string, unknown>) => {
  const checked = check(given);
  if (checked.ok) throw new Error(`accepted: ${JSON.stringify(checked.answers)}`);
  return checked.errors;
};

describe('checkAnswers: values in the API units', () => {
  it('answers from a form (strings) come out in API units, in question order, unanswered optional ones left out', () => {
    const out = answers({
      YB_RAM: '8GiB',
      YB_CPU_CORES: '4',
      YB_DRIVE_1_SIZE: '100GiB',
      YB_DRIVE_OS_SIZE: '0',
      YB_UEFI: 'yes',
      YB_BOOT_WAIT: '5m',
      YB_NIC_ETH0: '7',
      YB_CLUSTER: '2',
      YB_OS_VERSION: '22.04',
      YB_TIER: '3',
      YB_USER: '',
    });
    expect(out).toEqual({
      YB_CPU_CORES: 4,
      YB_RAM: 8192,
      YB_DRIVE_OS_SIZE: 0,
      YB_DRIVE_1_SIZE: 107374182400,
      YB_CLUSTER: 2,
      YB_NIC_ETH0: 7,
      YB_UEFI: true,
      YB_BOOT_WAIT: 300,
      YB_OS_VERSION: '22.04',
      YB_TIER: 3,
      YB_HOSTNAME: 'web-01',
      YB_PASSWORD: 'S3cret-pass!',
    });
    expect(Object.keys(out)).toEqual([
      'YB_CPU_CORES',
      'YB_RAM',
      'YB_DRIVE_OS_SIZE',
      'YB_DRIVE_1_SIZE',
      'YB_CLUSTER',
      'YB_NIC_ETH0',
      'YB_UEFI',
      'YB_BOOT_WAIT',
      'YB_OS_VERSION',
      'YB_TIER',
      'YB_HOSTNAME',
      'YB_PASSWORD',
    ]);
  });

  it('answers from YAML (numbers, booleans) read the same: a bare number is MB for RAM, bytes for a disk, seconds', () => {
    expect(answers({ YB_RAM: 4096, YB_DRIVE_1_SIZE: 53687091200, YB_UEFI: false, YB_BOOT_WAIT: 90, YB_CPU_CORES: 8, YB_OS_VERSION: 24.04 })).toMatchObject({
      YB_RAM: 4096,
      YB_DRIVE_1_SIZE: 53687091200,
      YB_UEFI: false,
      YB_BOOT_WAIT: 90,
      YB_CPU_CORES: 8,
      YB_OS_VERSION: '24.04',
    });
    expect(answers({ YB_RAM: '1.5GiB', YB_BOOT_WAIT: '90s' })).toMatchObject({ YB_RAM: 1536, YB_BOOT_WAIT: 90 });
  });

  it('bool: yes/true/on/1 and true are JSON true, no/false/off/0 false; "enabled" is refused (VergeOS would read it as false)', () => {
    for (const value of ['yes', 'true', true, 'ON', '1', 1]) expect(answers({ YB_UEFI: value }).YB_UEFI, String(value)).toBe(true);
    for (const value of ['no', 'false', false, 'off', '0', 0]) expect(answers({ YB_UEFI: value }).YB_UEFI, String(value)).toBe(false);
    expect(errors({ YB_UEFI: 'enabled' })).toEqual([{ question: 'YB_UEFI', message: "UEFI must be yes or no (true/false, on/off, 1/0) (got 'enabled')" }]);
  });

  it('network: a key as an integer, or __new_internal__; cluster: a key as an integer', () => {
    expect(answers({ YB_NIC_ETH0: '__new_internal__', YB_CLUSTER: 1 })).toMatchObject({ YB_NIC_ETH0: '__new_internal__', YB_CLUSTER: 1 });
    expect(errors({ YB_NIC_ETH0: 'lan', YB_CLUSTER: 'main' })).toEqual([
      { question: 'YB_CLUSTER', message: "Cluster must be a cluster key (a whole number) (got 'main')" },
      { question: 'YB_NIC_ETH0', message: "Network must be a network key (a whole number) or __new_internal__ (got 'lan')" },
    ]);
  });

  it('row: an integer key when numeric, else the key as given', () => {
    expect(answers({ YB_TIER: 'a1b2' }).YB_TIER).toBe('a1b2');
  });

  it('one-line text is trimmed; a text area is taken as typed', () => {
    expect(answers({ YB_HOSTNAME: '  web-02 ', YB_SSH_KEYS: 'ssh-ed25519 AAA a@b\nssh-ed25519 BBB c@d\n' })).toMatchObject({
      YB_HOSTNAME: 'web-02',
      YB_SSH_KEYS: 'ssh-ed25519 AAA a@b\nssh-ed25519 BBB c@d\n',
    });
  });
});

describe('checkAnswers: refusals, each naming its question', () => {
  it('disk sizes: "512KiB" is refused (between 0 and 1 MiB), 0 is the recipe default, above max refused', () => {
    expect(errors({ YB_DRIVE_OS_SIZE: '512KiB', YB_DRIVE_1_SIZE: '2TiB' })).toEqual([
      {
        question: 'YB_DRIVE_OS_SIZE',
        message: "OS disk size must be 0 (the recipe's default) or at least 1 MiB: a disk size is in bytes, so 100GiB is 107374182400 (got '512KiB')",
      },
      { question: 'YB_DRIVE_1_SIZE', message: "Data disk size must be at most 1 TiB (got '2TiB')" },
    ]);
    expect(errors({ YB_DRIVE_1_SIZE: 50 })[0]!.message).toBe(
      "Data disk size must be 0 (the recipe's default) or at least 1 MiB: a disk size is in bytes, so 100GiB is 107374182400 (got 50)",
    );
    expect(answers({ YB_DRIVE_1_SIZE: 1048576 }).YB_DRIVE_1_SIZE).toBe(1048576);
  });

  it('RAM min/max in its own unit, said as sizes', () => {
    expect(errors({ YB_RAM: '512MiB' })).toEqual([{ question: 'YB_RAM', message: "RAM must be at least 1 GiB (got '512MiB')" }]);
    expect(errors({ YB_RAM: 131072 })).toEqual([{ question: 'YB_RAM', message: 'RAM must be at most 64 GiB (got 131072)' }]);
    expect(answers({ YB_RAM: '1GiB' }).YB_RAM).toBe(1024);
    expect(errors({ YB_RAM: '1.1GiB' })).toEqual([
      { question: 'YB_RAM', message: "RAM must be a size in whole MB, like 8GiB or 512MiB (a bare number is MB) (got '1.1GiB')" },
    ]);
  });

  it('num and seconds bounds; numbers must be whole; no negatives without a min', () => {
    expect(errors({ YB_CPU_CORES: 0, YB_BOOT_WAIT: '2h' })).toEqual([
      { question: 'YB_CPU_CORES', message: 'CPU cores must be at least 1 (got 0)' },
      { question: 'YB_BOOT_WAIT', message: "Boot wait must be at most 1h (got '2h')" },
    ]);
    expect(errors({ YB_CPU_CORES: '2.5' })).toEqual([{ question: 'YB_CPU_CORES', message: "CPU cores must be a whole number (got '2.5')" }]);
    expect(checkAnswers({ N: -1 }, [question({ name: 'N', display: 'Count', type: 'num' })])).toMatchObject({
      ok: false,
      errors: [{ question: 'N', message: 'Count cannot be negative (got -1)' }],
    });
  });

  it('string length bounds count characters', () => {
    expect(errors({ YB_HOSTNAME: 'a', YB_USER: 'u'.repeat(33) })).toEqual([
      { question: 'YB_HOSTNAME', message: 'Hostname must be at least 2 characters (got 1)' },
      { question: 'YB_USER', message: 'User must be at most 32 characters (got 33)' },
    ]);
    expect(answers({ YB_USER: 'é'.repeat(32) }).YB_USER).toBe('é'.repeat(32));
  });

  it('the pattern must match the WHOLE answer', () => {
    expect(errors({ YB_HOSTNAME: 'Web_01' })).toEqual([{ question: 'YB_HOSTNAME', message: "Hostname must match ^[a-z0-9-]+$ (got 'Web_01')" }]);
    const q = [question({ name: 'DB', display: 'Database', type: 'string', regex: '[a-z]{3,}' })];
    expect(checkAnswers({ DB: 'db' }, q)).toMatchObject({ ok: false, errors: [{ question: 'DB', message: "Database must match [a-z]{3,} (got 'db')" }] });
    expect(checkAnswers({ DB: 'db1xyz' }, q)).toMatchObject({
      ok: false,
      errors: [{ question: 'DB', message: "Database must match [a-z]{3,} (got 'db1xyz')" }],
    });
    expect(checkAnswers({ DB: 'dbs' }, q)).toEqual({ ok: true, answers: { DB: 'dbs' }, warnings: [] });
    const anchored = [question({ name: 'DB', display: 'Database', type: 'string', regex: '^[a-z]{3,}$' })];
    expect(checkAnswers({ DB: 'db' }, anchored)).toMatchObject({ ok: false, errors: [{ message: "Database must match ^[a-z]{3,}$ (got 'db')" }] });
    const alternation = [question({ name: 'A', display: 'Env', type: 'string', regex: 'dev|prod' })];
    expect(checkAnswers({ A: 'devprod' }, alternation)).toMatchObject({ ok: false });
  });

  it("the stock Linux HOSTNAME pattern is read as intended: 'db' passes, as on deploy", () => {
    const stock = [question({ name: 'YB_HOSTNAME', display: 'Hostname', type: 'hostname', regex: '[a-zA-Z]([a-zA-Z0-9_-]+[a-zA-Z0-9])?' })];
    expect(checkAnswers({ YB_HOSTNAME: 'db' }, stock)).toEqual({ ok: true, answers: { YB_HOSTNAME: 'db' }, warnings: [] });
    expect(checkAnswers({ YB_HOSTNAME: '1db' }, stock)).toMatchObject({ ok: false });
  });

  it('a pattern that does not compile does not throw: it is not checked, and a warning says so', () => {
    const q = [question({ name: 'H', display: 'Host', type: 'hostname', regex: '([a-z' })];
    expect(checkAnswers({ H: 'anything' }, q)).toEqual({
      ok: true,
      answers: { H: 'anything' },
      warnings: ["Host: the recipe's pattern ([a-z is not a valid regular expression, so answers are not checked against it"],
    });
  });

  it('a list answer must be one of its choices', () => {
    expect(errors({ YB_OS_VERSION: '20.04', YB_IP_ADDR_TYPE: 'Static' })).toEqual([
      { question: 'YB_OS_VERSION', message: "Ubuntu must be one of '22.04' (Ubuntu 22.04), '24.04' (Ubuntu 24.04) (got '20.04')" },
      { question: 'YB_IP_ADDR_TYPE', message: "Address must be one of 'dhcp' (DHCP), 'static' (Static) (got 'Static')" },
    ]);
  });

  it('required questions must be answered unless VergeOS has a default to apply', () => {
    expect(checkAnswers({ YB_RAM: '' }, ubuntuQuestions(), { sections: SECTIONS })).toEqual({
      ok: false,
      errors: [
        { question: 'YB_HOSTNAME', message: 'Hostname is required' },
        { question: 'YB_PASSWORD', message: 'Password is required' },
      ],
      warnings: [],
    });
  });

  it('unknown keys, and keys of questions the recipe answers itself, are errors naming them', () => {
    expect(errors({ YB_COLOUR: 'blue', OS_DL_URL: 'https://evil.example/x.img', YB_DB_NAME: 'x', YB_LEGACY: 'y' })).toEqual([
      { question: 'YB_DB_NAME', message: 'YB_DB_NAME is set by the recipe itself, not answered' },
      { question: 'OS_DL_URL', message: 'OS_DL_URL is set by the recipe itself, not answered' },
      { question: 'YB_LEGACY', message: 'YB_LEGACY is set by the recipe itself, not answered' },
      { question: 'YB_COLOUR', message: 'YB_COLOUR is not a question of this recipe' },
    ]);
    const passed = checkAnswers({ ...REQUIRED, OS_DL_URL: 'https://img.example/a.img' }, ubuntuQuestions(), { passUnasked: true });
    expect(passed).toMatchObject({ ok: true, answers: { OS_DL_URL: 'https://img.example/a.img' } });
  });

  it('a read-only question takes only its default', () => {
    const q = [question({ name: 'ARCH', display: 'Architecture', type: 'string', readonly: true, default: 'x86_64' })];
    expect(checkAnswers({ ARCH: 'x86_64' }, q)).toEqual({ ok: true, answers: { ARCH: 'x86_64' }, warnings: [] });
    expect(checkAnswers({ ARCH: 'arm64' }, q)).toMatchObject({
      ok: false,
      errors: [{ question: 'ARCH', message: 'Architecture is fixed by the recipe and cannot be changed' }],
    });
  });

  it('without the sections listed, questions group by section name as first met in orderid order', () => {
    const checked = checkAnswers({ YB_HOSTNAME: 'Web_01', YB_RAM: '512MiB' }, ubuntuQuestions());
    expect(checked.ok ? [] : checked.errors.map((e) => e.question)).toEqual(['YB_HOSTNAME', 'YB_PASSWORD', 'YB_RAM']);
  });

  it('every error at once; answersOrThrow throws them as one coded error', () => {
    const given = { YB_HOSTNAME: 'Web_01', YB_RAM: '512MiB', YB_UEFI: 'enabled', YB_X: 1 };
    expect(errors(given).map((e) => e.question)).toEqual(['YB_RAM', 'YB_UEFI', 'YB_HOSTNAME', 'YB_X']);
    let thrown: unknown;
    try {
      answersOrThrow({ ...REQUIRED, ...given }, ubuntuQuestions(), { sections: SECTIONS });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(RecipeAnswersError);
    expect(thrown).toMatchObject({ code: 'RECIPE_ANSWERS_INVALID', exitCode: 2 });
    expect((thrown as Error).message).toBe(
      "RAM must be at least 1 GiB (got '512MiB'); UEFI must be yes or no (true/false, on/off, 1/0) (got 'enabled'); Hostname must match ^[a-z0-9-]+$ (got 'Web_01'); YB_X is not a question of this recipe",
    );
  });
});

describe('checkAnswers: a secret never appears in an error', () => {
  it('a password too short or not matching its pattern is said without its value or length', () => {
    const qs = [
      question({ name: 'PW', display: 'Password', type: 'password', min: 12, max: 16, regex: '[A-Za-z0-9]+' }),
      question({ name: 'TOKEN', display: 'API token', type: 'string', dont_store: true, regex: 'tk-[0-9]+' }),
      question({ name: 'PIN', display: 'PIN', type: 'num', dont_store: true, max: 9999 }),
      question({ name: 'FLAG', display: 'Secret flag', type: 'bool', dont_store: true }),
    ];
    const given = { PW: 'hunter2!', TOKEN: 'tk-abc', PIN: 123456, FLAG: 'sure' };
    const checked = checkAnswers(given, qs);
    expect(checked).toEqual({
      ok: false,
      errors: [
        { question: 'PW', message: 'Password must be at least 12 characters' },
        { question: 'PW', message: 'Password must match [A-Za-z0-9]+' },
        { question: 'TOKEN', message: 'API token must match tk-[0-9]+' },
        { question: 'PIN', message: 'PIN must be at most 9999' },
        { question: 'FLAG', message: 'Secret flag must be yes or no (true/false, on/off, 1/0)' },
      ],
      warnings: [],
    });
    const text = JSON.stringify(checked);
    for (const secret of ['hunter2!', 'tk-abc', '123456', 'sure']) expect(text).not.toContain(secret);
    expect(() => answersOrThrow({ PW: 42n }, qs)).toThrow('Password must be text');
  });
});
