/**
 * Masking cloud-init user-data on real examples: cloud-init's own documentation (users and
 * groups, set passwords, run commands, SSH keys), a shell script, text that does not parse.
 */
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { maskCloudInit, unmaskCloudInit } from '../../src/plan/cloud-init-mask.js';
import { redactBody } from '../../src/plan/render.js';

const mask = (text: string) => maskCloudInit(text).text;
/** The lines of `text` that are not in `masked`. */
const changedLines = (text: string, masked: string) => text.split('\n').filter((l) => !masked.split('\n').includes(l));

// cloud-init's doc/examples/cloud-config-user-groups.txt (its long public keys shortened).
const USERS_AND_GROUPS = `#cloud-config
# Add groups to the system
# The following example adds the 'admingroup' group with members 'root' and 'sys'
# and the empty group cloud-users.
groups:
  - admingroup: [root,sys]
  - cloud-users

# Add users to the system. Users are added after groups are added.
# Note: Most of these configuration options will not be honored if the user
#       already exists. Following options are the exceptions and they are
#       applicable on already-existing users:
#       - 'plain_text_passwd', 'hashed_passwd', 'lock_passwd', 'sudo',
#         'ssh_authorized_keys', 'ssh_redirect_user'.
users:
  - default
  - name: foobar
    gecos: Foo B. Bar
    primary_group: foobar
    groups: users
    selinux_user: staff_u
    expiredate: '2032-09-01'
    ssh_import_id:
      - lp:falcojr
      - gh:TheRealFalcon
    lock_passwd: false
    passwd: $6$j212wezy$7H/1LT4f9/N3wpgNunhsIqtMj62OKiS3nyNwuizouQc3u7MbYCarYeAHWYPYb2FT.lbioDm2RrkJPb9BZMN1O/
  - name: barfoo
    gecos: Bar B. Foo
    sudo: ALL=(ALL) NOPASSWD:ALL
    groups: users, admin
    ssh_import_id:
      - lp:falcojr
      - gh:TheRealFalcon
    lock_passwd: true
    ssh_authorized_keys:
      - ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDSL7uWGj8cgWyIOaspgKdVy0cKJ+UTjfv7jBOjG2H/GN8bJVXy72XAvnhM0dUM+CCs8FOf0YlPX csmith@fringe
  - name: testuser
    gecos: Mr. Test
    homedir: /local/testdir
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
  - name: cloudy
    gecos: Magic Cloud App Daemon User
    inactive: '5'
    system: true
  - snapuser: joe@joeuser.io
  - name: nosshlogins
    ssh_redirect_user: true

# Valid Values:
#   lock_passwd: Defaults to true. Lock the password to disable password login
#   passwd: The hash -- not the password itself -- of the password you want
#           to use for this user. You can generate a hash via:
#               mkpasswd --method=SHA-512 --rounds=4096
`;

// cloud-init's set-passwords module docs: examples 1 and 2, and the older chpasswd.list forms.
const SET_PASSWORD = `#cloud-config
ssh_pwauth: true
password: password1
`;
const CHPASSWD_USERS = `#cloud-config
ssh_pwauth: false
chpasswd:
  expire: false
  users:
    - name: user1
      password: password1
      type: text
    - name: user2
      password: $6$rounds=4096$5DJ8a9WMTEzIo5J4$Yms6imfeBvf3Yfu84mQBerh18l7OR1Wm1BJXZqFSpJ6BVas0AYJqIjP7czkOaAZHZi1kxQ5Y1IhgWN8K9NgxR1
    - name: user3
      type: RANDOM
`;
const CHPASSWD_LIST = `#cloud-config
chpasswd:
  list: |
    user1:password1
    user2:RANDOM
    user3:password3
    user4:R
  expire: False
`;
const CHPASSWD_LIST_SEQUENCE = `#cloud-config
chpasswd:
  list:
    - user1:password1
    - user2:RANDOM
  expire: false
`;

// cloud-init's doc/examples/cloud-config-run-cmds.txt: nothing secret, so nothing changes.
const RUN_COMMANDS = `#cloud-config

# run commands
# default: none
# runcmd contains a list of either lists or a string
# each item will be executed in order at rc.local like level with
# output to the console
runcmd:
 - [ ls, -l, / ]
 - [ sh, -xc, "echo $(date) ': hello world!'" ]
 - [ sh, -c, echo "=========hello world'=========" ]
 - ls -l /root
 - [ wget, "http://slashdot.org", -O, /tmp/index.html ]
`;

// cloud-init's doc/examples/cloud-config-ssh-keys.txt (keys shortened).
const SSH_KEYS = `#cloud-config

# add each entry to ~/.ssh/authorized_keys for the configured user or the
# first user defined in the user definition directive.
ssh_authorized_keys:
  - ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAGEA3FSyQwBI6Z+nCSjUUk8EEAnnkhXlukKoUPND/RRClWz2s5TCzIkd3Ou5+Cyz71X0XmazM3l5WgeErvtIwQMyT1KjNoMhoJMrJnWqQPOt5Q8zWd9qG7PBl9+eiH5qV7NZ mykey@host

# Send pre-generated SSH private keys to the server
ssh_keys:
  rsa_private: |
    -----BEGIN RSA PRIVATE KEY-----
    MIIBxwIBAAJhAKD0YSHy73nUgysO13XsJmd4fHiFyQ+00R7VVu2iV9Qcon2LZS/x
    1cydPZ4pQpfjEha6WxZ6o8ci/Ea/w0n+0HGPwaxlEG2Z9inNtj3pgFrYcRztfECb
    -----END RSA PRIVATE KEY-----

  rsa_public: ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAGEAoPRhIfLvedSDKw7XdewmZ3h8eIXJD7TRHtVW7aJX1ByifYtlL/HVzJ09nilCl+MSFrpbFnqjxyL8Rr/DSf7QcY/BrGUQbZn2Kc22PemAWthxHO18QJvWPocKJtlsDNi3 smoser@localhost

no_ssh_fingerprints: false
`;

describe('masking cloud-init user-data: cloud-init documentation examples', () => {
  it('users and groups: only the password hash goes; lock_passwd, public keys, comments and layout stay', () => {
    const masked = mask(USERS_AND_GROUPS);
    expect(masked).not.toContain('$6$j212wezy');
    expect(changedLines(USERS_AND_GROUPS, masked)).toEqual([
      '    passwd: $6$j212wezy$7H/1LT4f9/N3wpgNunhsIqtMj62OKiS3nyNwuizouQc3u7MbYCarYeAHWYPYb2FT.lbioDm2RrkJPb9BZMN1O/',
    ]);
    expect(masked).toContain('    passwd: "***"\n');
    const expected = parse(USERS_AND_GROUPS) as { users: Array<Record<string, unknown>> };
    expected.users[1]!.passwd = '***';
    expect(parse(masked)).toEqual(expected);
  });

  it('set passwords: password, chpasswd users and the chpasswd list lose their passwords, not their shape', () => {
    expect(mask(SET_PASSWORD)).toBe('#cloud-config\nssh_pwauth: true\npassword: "***"\n');
    const users = mask(CHPASSWD_USERS);
    expect(users).not.toMatch(/password1|Yms6imfeBvf3/);
    expect(parse(users)).toEqual({
      ssh_pwauth: false,
      chpasswd: {
        expire: false,
        users: [
          { name: 'user1', password: '***', type: 'text' },
          { name: 'user2', password: '***' },
          { name: 'user3', type: 'RANDOM' },
        ],
      },
    });
    // RANDOM (and R) ask cloud-init to make one up: nothing to hide, and the lead should see it.
    expect(mask(CHPASSWD_LIST)).toBe(CHPASSWD_LIST.replace('user1:password1', 'user1:***').replace('user3:password3', 'user3:***'));
    expect(mask(CHPASSWD_LIST_SEQUENCE)).toBe(CHPASSWD_LIST_SEQUENCE.replace('user1:password1', 'user1:***'));
  });

  it('run commands: nothing secret, byte for byte the same', () => {
    expect(mask(RUN_COMMANDS)).toBe(RUN_COMMANDS);
  });

  it('SSH keys: the private key goes, the public ones stay', () => {
    const masked = mask(SSH_KEYS);
    expect(masked).not.toMatch(/MIIBxwIBAAJhAKD0YSHy|1cydPZ4pQpfjEha6/);
    expect(parse(masked)).toEqual({
      ...parse(SSH_KEYS),
      ssh_keys: { rsa_private: '***', rsa_public: (parse(SSH_KEYS) as { ssh_keys: { rsa_public: string } }).ssh_keys.rsa_public },
    });
    expect(changedLines(SSH_KEYS, masked).filter((l) => !/PRIVATE KEY|^ {4}[\w/+]+$/.test(l))).toEqual(['  rsa_private: |']);
  });
});

describe('masking cloud-init user-data: password-setting commands', () => {
  const RUNCMD = `#cloud-config
runcmd:
  - echo 'root:Root-Pass-1' | chpasswd
  - [ sh, -c, "echo 'admin:Admin-Pass-2' | chpasswd" ]
  - echo "Plain-Pass-3" | passwd --stdin deploy
  - usermod -p '$6$salt$HashHashHashHash' deploy
  - [ usermod, -p, '$6$salt2$ListListListList', ops ]
  - openssl passwd -6 -salt abc Openssl-Pass-4
  - 'curl -fsS -H "Authorization: Bearer tok-Bearer-5" "https://vault.example.com/v1/secret?token=Query-Tok-6"'
  - ls -l /root
bootcmd:
  - |
    chpasswd <<EOF
    root:Heredoc-Pass-7
    EOF
`;

  it('masks only the secret part of each line, in string and list form', () => {
    const masked = mask(RUNCMD);
    for (const secret of [
      'Root-Pass-1',
      'Admin-Pass-2',
      'Plain-Pass-3',
      'HashHashHashHash',
      'ListListListList',
      'Openssl-Pass-4',
      'tok-Bearer-5',
      'Query-Tok-6',
      'Heredoc-Pass-7',
    ])
      expect(masked).not.toContain(secret);
    expect(parse(masked)).toEqual({
      runcmd: [
        "echo 'root:***' | chpasswd",
        ['sh', '-c', "echo 'admin:***' | chpasswd"],
        'echo "***" | passwd --stdin deploy',
        "usermod -p '***' deploy",
        ['usermod', '-p', '***', 'ops'],
        'openssl passwd -6 -salt abc ***',
        'curl -fsS -H "Authorization: Bearer ***" "https://vault.example.com/v1/secret?token=***"',
        'ls -l /root',
      ],
      bootcmd: ['chpasswd <<EOF\nroot:***\nEOF\n'],
    });
    expect(changedLines(RUNCMD, masked)).toHaveLength(8);
  });

  it('a secret found once is hidden wherever else it appears, comments included', () => {
    const text =
      '#cloud-config\n# passwd: $6$commented$OldOldOldOld\npassword: Reused-Pass\nwrite_files:\n  - path: /root/note\n    content: the password is Reused-Pass\n';
    const masked = mask(text);
    expect(masked).not.toMatch(/Reused-Pass|OldOldOldOld/);
    expect(masked).toContain('# passwd: ***\n');
    expect(masked).toContain('content: the password is ***\n');
  });

  it('a shell script is masked line by line', () => {
    const script =
      "#!/bin/sh\nset -e\necho 'root:Script-Pass-1' | chpasswd\nusermod -p '$6$x$ScriptHashHash' root\nexport DB_PASSWORD=Db-Pass-2\ncurl -H 'Authorization: Bearer Tok-3' https://x\necho done\n";
    expect(mask(script)).toBe(
      "#!/bin/sh\nset -e\necho 'root:***' | chpasswd\nusermod -p '***' root\nexport DB_PASSWORD=***\ncurl -H 'Authorization: Bearer ***' https://x\necho done\n",
    );
  });

  it('text that does not parse gets the conservative line mask; lock_passwd: false is no secret', () => {
    const broken =
      '#cloud-config\nusers:\n  - name: a\n    lock_passwd: false\n    passwd: $6$b$BrokenBrokenBroken\n  bad: [\nchpasswd:\n  list: |\n    root:Broken-Pass\n';
    const masked = mask(broken);
    expect(masked).not.toMatch(/BrokenBrokenBroken|Broken-Pass/);
    expect(masked).toContain('lock_passwd: false');
    expect(masked).toContain('root:***');
  });

  it('plan --json bodies: the cloud-init files masked, still valid YAML', () => {
    const body = redactBody({ cloudinit_files: [{ name: 'user-data', contents: CHPASSWD_USERS }], console_pass_hash: '$6$x$y' });
    expect(body.console_pass_hash).toBe('***');
    const contents = (body.cloudinit_files as Array<{ contents: string }>)[0]!.contents;
    expect(contents).not.toContain('password1');
    expect(() => parse(contents)).not.toThrow();
  });
});

describe('numbered markers and putting secrets back', () => {
  const marker = (i: number) => `«secret ${i + 1} from the recipe»`;

  it('gives every example back exactly (same document; same text where the secrets were plain words)', () => {
    for (const text of [USERS_AND_GROUPS, SET_PASSWORD, CHPASSWD_USERS, CHPASSWD_LIST, CHPASSWD_LIST_SEQUENCE, RUN_COMMANDS, SSH_KEYS]) {
      const masked = maskCloudInit(text, { marker });
      for (const s of masked.secrets) expect(masked.text).not.toContain(s);
      const back = unmaskCloudInit(masked.text, masked.secrets, marker);
      expect(isDeepStrictEqual(parse(back), parse(text))).toBe(true);
      if (text !== SSH_KEYS) expect(back).toBe(text);
    }
  });

  it('numbers each distinct secret once, in the order met', () => {
    const masked = maskCloudInit(CHPASSWD_LIST, { marker });
    expect(masked.secrets).toEqual(['password1', 'password3']);
    expect(masked.text).toContain('user1:«secret 1 from the recipe»\n    user2:RANDOM\n    user3:«secret 2 from the recipe»');
  });
});
