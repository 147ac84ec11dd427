/**
 * Masking cloud-init user-data, as properties over generated cloud-configs: users with password
 * hashes, chpasswd lists and users, password-setting runcmd lines (string and list form), tokens,
 * private keys, among random settings that are not secret.
 */
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { maskCloudInit, unmaskCloudInit } from '../../src/plan/cloud-init-mask.js';
import { isSecretKey } from '../../src/plan/secret-text.js';

/** Secrets carry a prefix nothing else has, so "never appears" is exact. */
const secretText = fc.stringMatching(/^[A-Za-z0-9./]{8,20}$/).map((s) => `Zq${s}`);
const hash = secretText.map((s) => `$6$rounds=4096$${s}`);
const userName = fc.stringMatching(/^[a-z][a-z0-9]{1,8}$/);
const safeText = fc.stringMatching(/^[a-z][a-z0-9 ]{0,20}[a-z0-9]$/);
const RESERVED = new Set(['users', 'chpasswd', 'runcmd', 'bootcmd', 'ssh_keys', 'ubuntu_pro', 'write_files']);
const plainKey = fc.stringMatching(/^[a-z][a-z_]{0,10}$/).filter((k) => !isSecretKey(k) && !RESERVED.has(k));
const plainValue = fc.oneof(safeText, fc.integer({ min: 0, max: 100_000 }), fc.boolean(), fc.array(safeText, { maxLength: 3 }));
const extras = fc.dictionary(plainKey, plainValue, { maxKeys: 4 });

interface Generated {
  config: Record<string, unknown>;
  secrets: string[];
}

const user = fc
  .record({
    name: userName,
    passwd: fc.option(hash, { nil: undefined }),
    hashed_passwd: fc.option(hash, { nil: undefined }),
    plain_text_passwd: fc.option(secretText, { nil: undefined }),
    lock_passwd: fc.boolean(),
    ssh_authorized_keys: fc.array(
      userName.map((n) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${n} ${n}@example.com`),
      { maxLength: 2 },
    ),
    extra: extras,
  })
  .map(({ extra, ...u }) => ({
    config: { ...extra, ...Object.fromEntries(Object.entries(u).filter(([, v]) => v !== undefined)) },
    secrets: [u.passwd, u.hashed_passwd, u.plain_text_passwd].filter((s): s is string => s !== undefined),
  }));

const runcmdLine = fc.oneof(
  fc.tuple(userName, secretText).map(([u, s]) => ({ line: `echo '${u}:${s}' | chpasswd` as unknown, secrets: [s] })),
  fc.tuple(userName, secretText).map(([u, s]) => ({ line: `echo '${s}' | passwd --stdin ${u}` as unknown, secrets: [s] })),
  fc.tuple(userName, hash).map(([u, s]) => ({ line: `usermod -p '${s}' ${u}` as unknown, secrets: [s] })),
  fc.tuple(userName, hash).map(([u, s]) => ({ line: ['usermod', '-p', s, u] as unknown, secrets: [s] })),
  fc.tuple(userName, secretText).map(([u, s]) => ({ line: ['sh', '-c', `echo '${u}:${s}' | chpasswd`] as unknown, secrets: [s] })),
  secretText.map((s) => ({ line: `openssl passwd -6 '${s}'` as unknown, secrets: [s] })),
  secretText.map((s) => ({ line: `curl -fsS -H 'Authorization: Bearer ${s}' https://vault.example.com/v1/x` as unknown, secrets: [s] })),
  safeText.map((t) => ({ line: `logger ${t}` as unknown, secrets: [] as string[] })),
  safeText.map((t) => ({ line: ['touch', `/tmp/${t.replace(/ /g, '_')}`] as unknown, secrets: [] as string[] })),
);

const pem = secretText.map((s) => `-----BEGIN OPENSSH PRIVATE KEY-----\n${s}\n${s.split('').reverse().join('')}Zq\n-----END OPENSSH PRIVATE KEY-----\n`);

const cloudConfig: fc.Arbitrary<Generated> = fc
  .record({
    users: fc.array(user, { minLength: 1, maxLength: 3 }),
    list: fc.array(fc.tuple(userName, secretText), { maxLength: 3 }),
    listAsLines: fc.boolean(),
    chUsers: fc.array(fc.tuple(userName, fc.oneof(secretText, hash)), { maxLength: 2 }),
    runcmd: fc.array(runcmdLine, { maxLength: 5 }),
    token: fc.option(secretText, { nil: undefined }),
    apiKey: fc.option(secretText, { nil: undefined }),
    privateKey: fc.option(pem, { nil: undefined }),
    extra: extras,
  })
  .map((g) => {
    const secrets = [...g.users.flatMap((u) => u.secrets), ...g.list.map(([, s]) => s), ...g.chUsers.map(([, s]) => s), ...g.runcmd.flatMap((r) => r.secrets)];
    const config: Record<string, unknown> = { ...g.extra, users: ['default', ...g.users.map((u) => u.config)] };
    const chpasswd: Record<string, unknown> = { expire: false };
    if (g.list.length) chpasswd.list = g.listAsLines ? g.list.map(([u, s]) => `${u}:${s}`).join('\n') + '\n' : g.list.map(([u, s]) => `${u}:${s}`);
    if (g.chUsers.length) chpasswd.users = g.chUsers.map(([name, password]) => ({ name, password, type: password.startsWith('$') ? 'hash' : 'text' }));
    config.chpasswd = chpasswd;
    if (g.runcmd.length) config.runcmd = g.runcmd.map((r) => r.line);
    if (g.token) config.ubuntu_pro = { token: g.token, enable: ['esm-infra'] };
    if (g.apiKey) config.monitoring_api_key = g.apiKey;
    if (g.privateKey) config.ssh_keys = { ed25519_private: g.privateKey, ed25519_public: 'ssh-ed25519 AAAAC3Nza host@example.com' };
    for (const s of [g.token, g.apiKey]) if (s) secrets.push(s);
    if (g.privateKey) secrets.push(...g.privateKey.split('\n').filter((l) => l.startsWith('Zq') || l.endsWith('Zq')));
    return { config, secrets };
  });

/** As people write it: sometimes every string quoted, sometimes plain, sequences flow or block. */
const written = fc.tuple(cloudConfig, fc.constantFrom('PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE'), fc.boolean()).map(([g, style, indentSeq]) => ({
  ...g,
  text: `#cloud-config\n${stringify(g.config, { defaultStringType: style as 'PLAIN', indentSeq, lineWidth: 0 })}`,
}));

const containsAny = (value: unknown, secrets: readonly string[]) => secrets.some((s) => JSON.stringify(value).includes(JSON.stringify(s).slice(1, -1)));

/** Every leaf of `original` without a secret is unchanged in `masked`; the shape (keys, lengths) is the same. */
function expectSameShapeKeepingPlainLeaves(original: unknown, masked: unknown, secrets: readonly string[], path = '$'): void {
  if (Array.isArray(original)) {
    expect(Array.isArray(masked), path).toBe(true);
    expect((masked as unknown[]).length, path).toBe(original.length);
    original.forEach((v, i) => expectSameShapeKeepingPlainLeaves(v, (masked as unknown[])[i], secrets, `${path}[${i}]`));
  } else if (original !== null && typeof original === 'object') {
    expect(Object.keys(masked as object).sort(), path).toEqual(Object.keys(original).sort());
    for (const [k, v] of Object.entries(original)) expectSameShapeKeepingPlainLeaves(v, (masked as Record<string, unknown>)[k], secrets, `${path}.${k}`);
  } else if (!containsAny(original, secrets)) {
    expect(masked, path).toEqual(original);
  }
}

describe('masking cloud-init user-data (properties)', () => {
  it('no secret survives; the text still parses to the same shape, with every setting that is not secret as it was', () => {
    fc.assert(
      fc.property(written, ({ text, config, secrets }) => {
        const masked = maskCloudInit(text).text;
        for (const s of secrets) expect(masked).not.toContain(s);
        expect(masked.startsWith('#cloud-config\n')).toBe(true);
        expectSameShapeKeepingPlainLeaves(config, parse(masked), secrets);
      }),
      { numRuns: 300 },
    );
  });

  it('numbered markers put back give the same document', () => {
    const marker = (i: number) => `«secret ${i + 1}»`;
    fc.assert(
      fc.property(written, ({ text }) => {
        const masked = maskCloudInit(text, { marker });
        for (const s of masked.secrets) expect(masked.text).not.toContain(s);
        const restored = unmaskCloudInit(masked.text, masked.secrets, marker);
        expect(isDeepStrictEqual(parse(restored), parse(text))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('the same text always masks the same way (the form puts secrets back by number)', () => {
    fc.assert(
      fc.property(written, ({ text }) => {
        const marker = (i: number) => `«secret ${i + 1}»`;
        expect(maskCloudInit(text, { marker })).toEqual(maskCloudInit(text, { marker }));
      }),
      { numRuns: 50 },
    );
  });
});
