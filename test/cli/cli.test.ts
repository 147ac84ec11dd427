/** `vmbot` as a user runs it: a real child process, real files, the simulator over loopback. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIM_DEFAULT_API_KEY, startVergeosSim, type VergeosSim } from '../../src/sim/index.js';
import { MANIFESTS, tempDir } from '../helpers/core.js';
import { runVmbot } from '../helpers/cli.js';

describe('vmbot command line', () => {
  let sim: VergeosSim;
  let dir: string;
  let remove: () => Promise<void>;
  let env: Record<string, string>;
  beforeAll(async () => {
    sim = await startVergeosSim({ timing: { importMs: 50, startMs: 0, stopMs: 0 } });
    ({ dir, remove } = await tempDir());
    env = { VERGEOS_URL: sim.url, VERGEOS_API_KEY: SIM_DEFAULT_API_KEY, DATA_DIR: join(dir, 'data'), MANIFESTS_DIR: MANIFESTS, VMBOT_POLL_INTERVAL: '20ms' };
  });
  afterAll(async () => {
    await sim.close();
    await remove();
  });

  it('validate passes on the shipped recipes and refuses a broken one with file:field (exit 2, bad input)', async () => {
    const ok = await runVmbot(['validate'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout.match(/^ok /gm)).toHaveLength(6);
    const broken = join(dir, 'broken.yml');
    await writeFile(broken, 'recipe: broken\ntitle: Broken\ndrives:\n  - { media: disk, disksize: 10 parsecs }\n');
    const bad = await runVmbot(['validate', broken], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(`${broken}:drives[0].disksize: the disk size must be a number of bytes or a size like 100GiB (got "10 parsecs")`);
  });

  it('validate refuses a TPM with a resource group, a GPU without one and a sized EFI disk, naming each field (exit 2)', async () => {
    const bad = join(dir, 'bad-devices.yml');
    await writeFile(
      bad,
      [
        'recipe: bad-devices',
        'title: Bad devices',
        'vm: { uefi: true }',
        'drives:',
        '  - { name: EFI, media: efidisk, disksize: 1GiB }',
        'devices:',
        '  - { type: tpm, resource_group: 1f67f07e-f653-db95-c475-01b8a2ea0ff1 }',
        '  - { type: node_host_gpu_devices }',
        '  - { type: node_nvidia_vgpu_devices, resource_group: 2, settings_args: { frame_rate_limiter: fast } }',
      ].join('\n'),
    );
    const out = await runVmbot(['validate', bad], env);
    expect(out.code).toBe(2);
    expect(out.stderr.trim().split('\n').sort()).toEqual([
      `${bad}:devices[0].resource_group: a TPM is virtual and takes no resource group; remove resource_group`,
      `${bad}:devices[1].resource_group: a node_host_gpu_devices device needs a resource group (its UUID or key)`,
      `${bad}:devices[2].settings_args.frame_rate_limiter: frame_rate_limiter must be a whole number of frames per second (0 turns the limiter off) (got "fast")`,
      `${bad}:drives[0].disksize: an EFI disk takes no size: VergeOS sizes it for the UEFI variable store itself, and a sized one is a plain volume the VM cannot keep UEFI settings on; remove disksize`,
    ]);
  });

  it('apply fills a device type in from its group (named by key) and refuses a type its group does not hold (exit 2)', async () => {
    const byKey = join(dir, 'vgpu-by-key.yml');
    await writeFile(
      byKey,
      [
        'recipe: vgpu-by-key',
        'title: vGPU by key',
        'vm: { cluster: "2" }',
        'devices:',
        '  - { resource_group: 2, settings_args: { frame_rate_limiter: 0 } }',
      ].join('\n'),
    );
    const own = { ...env, DATA_DIR: join(dir, 'data-devices') }; // the other tests count the runs in DATA_DIR
    const ok = await runVmbot(['apply', byKey, '--name', 'cli-vgpu', '--yes', '--json'], own);
    expect(ok.code).toBe(0);
    // pyVergeOS's create_vgpu defaults under the recipe's frame_rate_limiter, in the plan and in the POST.
    const settings = {
      frame_rate_limiter: 0,
      attach_drivers: false,
      disable_vnc: false,
      enable_uvm: false,
      enable_debugging: false,
      enable_profiling: false,
      profile_type: 'any',
    };
    expect(ok.stderr).toContain(`NVIDIA vGPU from resource group 2 with ${JSON.stringify(settings)}`);
    expect(sim.requestsTo('POST /machine_devices').at(-1)?.body).toMatchObject({
      type: 'node_nvidia_vgpu_devices',
      resource_group: 2,
      settings_args: settings,
    });

    const wrong = join(dir, 'wrong-type.yml');
    await writeFile(
      wrong,
      ['recipe: wrong-type', 'title: Wrong type', 'devices:', '  - { type: node_pci_devices, resource_group: 1f67f07e-f653-db95-c475-01b8a2ea0ff1 }'].join(
        '\n',
      ),
    );
    const refused = await runVmbot(['apply', wrong, '--name', 'cli-wrong', '--yes'], own);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `${wrong}:devices[0].type: NVIDIA A40 (passthrough) holds host GPUs, not PCI devices: set type: node_host_gpu_devices or leave type out`,
    );
  });

  it('plan --json prints the exact bodies with secrets masked, without touching the network', async () => {
    const recipe = join(dir, 'secret.yml');
    await writeFile(
      recipe,
      [
        'recipe: secret',
        'title: Secret',
        'vm:',
        '  console_pass_hash: "$6$rounds=5000$SECRETHASH"',
        '  cloudinit_files:',
        '    - name: user-data',
        '      contents: "#cloud-config\\nchpasswd:\\n  list: |\\n    root:hunter2\\npassword: hunter2\\n"',
        'drives:',
        '  - { name: Boot, disksize: 20GiB }',
        'nics:',
        '  - { vnet: 3 }',
      ].join('\n'),
    );
    const before = sim.requests.length;
    const out = await runVmbot(['plan', recipe, '--name', 'sec-01', '--json'], env);
    expect(out.code).toBe(0);
    const plan = JSON.parse(out.stdout);
    expect(plan.steps.map((s: { method: string; path: string }) => `${s.method} ${s.path}`)).toEqual([
      'POST /api/v4/vms',
      'POST /api/v4/machine_drives',
      'POST /api/v4/machine_nics',
    ]);
    expect(plan.steps[0].body.console_pass_hash).toBe('***');
    // Masked inside the parsed YAML: the chpasswd list too, and still valid YAML (a bare *** would be an alias).
    expect(plan.steps[0].body.cloudinit_files[0].contents).toBe('#cloud-config\nchpasswd:\n  list: |\n    root:***\npassword: "***"\n');
    expect(plan.steps[1].body).toEqual({
      machine: '<machine key from step 1>',
      name: 'Boot',
      media: 'disk',
      interface: 'virtio-scsi',
      disksize: 20 * 1024 ** 3,
    });
    expect(out.stdout).not.toContain('SECRETHASH');
    expect(out.stdout).not.toContain('hunter2');
    expect(sim.requests.length).toBe(before);
  });

  it('apply --json prints exactly one JSON object; a failure exits 1 with the error and what was created', async () => {
    const ok = await runVmbot(['apply', join(MANIFESTS, 'gpu-workstation.yml'), '--name', 'cli-gpu', '--yes', '--json'], env);
    expect(ok.code).toBe(0);
    const result = JSON.parse(ok.stdout);
    expect(result).toMatchObject({ name: 'cli-gpu', state: 'succeeded', vmKey: expect.any(String), machineKey: expect.any(String), poweredOn: false });
    expect(result.drives.map((d: { name: string }) => d.name)).toEqual(['OS Drive', 'Scratch']);
    expect(result.devices[0]).toEqual({ key: expect.any(String), uuid: expect.stringMatching(/-/) });
    expect(ok.stderr).toContain('[cli-gpu] 5/5 ✓');

    sim.faults.add({ route: 'POST /machine_nics', nth: 1, status: 404, body: { err: "Network '3' not found" } });
    const failed = await runVmbot(['apply', join(MANIFESTS, 'web-server.yml'), '--name', 'cli-web', '--yes', '--json'], env);
    expect(failed.code).toBe(1);
    const bad = JSON.parse(failed.stdout);
    expect(bad).toMatchObject({ state: 'failed', vmKey: expect.any(String), drives: [{ name: 'OS Drive' }], nics: [], error: { code: 'VERGEOS_NOT_FOUND' } });
    expect(bad.error.message).toMatch(/network \(vnet\) 3 does not exist in VergeOS/);

    const cleanup = await runVmbot(['cleanup', bad.runId, '--yes'], env);
    expect(cleanup.code).toBe(0);
    expect(cleanup.stdout).toBe(`Cleaned up run ${bad.runId}: deleted VM cli-web (VM key ${bad.vmKey}).\n`);
    const runs = await runVmbot(['runs', '--json'], env);
    expect(JSON.parse(runs.stdout).map((r: { name: string; state: string }) => `${r.name}:${r.state}`)).toEqual(['cli-gpu:succeeded', 'cli-web:cleaned_up']);
  });

  it('apply --count makes separate VMs from a name pattern', async () => {
    const out = await runVmbot(['apply', join(MANIFESTS, 'iso-install.yml'), '--name', 'lab-{n}', '--count', '3', '--yes', '--json'], env);
    expect(out.code).toBe(0);
    const result = JSON.parse(out.stdout);
    expect(result).toMatchObject({ succeeded: 3, failed: 0 });
    expect(result.runs.map((r: { name: string }) => r.name)).toEqual(['lab-1', 'lab-2', 'lab-3']);
  });

  it('bad input exits 2: a bad name, no terminal to confirm, a missing config value', async () => {
    const badName = await runVmbot(['apply', join(MANIFESTS, 'web-server.yml'), '--name', 'bad/name', '--yes'], env);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/web-server\.yml:vm\.name: the VM name may only contain/);
    const taken = await runVmbot(['apply', join(MANIFESTS, 'web-server.yml'), '--name', 'legacy-db', '--yes'], env);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toMatch(/web-server\.yml:vm\.name: legacy-db is already taken in VergeOS \(VM key 40\); pick another name\nNothing was created\./);
    const noTty = await runVmbot(['apply', join(MANIFESTS, 'web-server.yml'), '--name', 'x1'], env);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toMatch(/pass --yes/);
    const noConfig = await runVmbot(['apply', join(MANIFESTS, 'web-server.yml'), '--name', 'x2', '--yes'], {
      DATA_DIR: env.DATA_DIR!,
      VERGEOS_URL: 'not a url',
    });
    expect(noConfig.code).toBe(2);
    expect(noConfig.stderr).toContain('VERGEOS_URL must be a URL like https://vergeos.example.com');
    expect(noConfig.stderr).toContain('VERGEOS_API_KEY (or VERGEOS_USERNAME and VERGEOS_PASSWORD) is required');
    const unknown = await runVmbot(['frobnicate'], env);
    expect(unknown.code).toBe(2);
  });

  it('each flag reports its own error, before any work (exit 2)', async () => {
    const recipe = join(MANIFESTS, 'web-server.yml');
    const cases: Array<[string[], string]> = [
      [['apply', recipe, '--concurrency', 'abc'], '--concurrency must be a whole number from 1 to 500 (got "abc")'],
      [['apply', recipe, '--count', '1e2'], '--count must be a whole number from 1 to 500 (got "1e2")'],
      [['apply', recipe, '--tier-margin', '100'], '--tier-margin must be a percentage from 0 to 99 (got "100")'],
      [['resume', '--batch', 'batch-x', '--concurrency', '2.5'], '--concurrency must be a whole number from 1 to 500 (got "2.5")'],
      [['cleanup', '--all-failed', '--concurrency', '-1'], '--concurrency must be a whole number from 1 to 500 (got "-1")'],
      [['policy', 'explain', 'web-server', '--as', 'U0ALICE', '--count', '0'], '--count must be a whole number from 1 to 500 (got "0")'],
      [['sim', '--port', '70000'], '--port must be a whole number from 0 to 65535 (got "70000")'],
      [['sim', '--latency-ms', 'x'], '--latency-ms must be a number of milliseconds, 0 or more (got "x")'],
      [['slack-sim', '--rate-factor', '0'], '--rate-factor must be a number above 0 and at most 1000, 1 being Slack\'s own limits (got "0")'],
    ];
    const before = sim.requests.length;
    const outs = await Promise.all(cases.map(([args]) => runVmbot(args, env)));
    expect(outs.map((o) => [o.code, o.stdout, o.stderr])).toEqual(cases.map(([, message]) => [2, '', `${message}\n`]));
    expect(sim.requests.length).toBe(before);
  }, 120_000); // nine processes at once: slow on a busy machine

  it('audit verify and export work on the log the commands wrote, and catch an edit', async () => {
    const verify = await runVmbot(['audit', 'verify'], env);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/records, chain intact/);
    const csv = await runVmbot(['audit', '--csv'], env);
    expect(csv.stdout.split('\n')[0]).toBe('seq,at,actor,action,outcome,requestId,runId,vmName,keys,detail,hash');
    expect(csv.stdout).toContain('run.cleaned_up');
    const json = JSON.parse((await runVmbot(['audit', '--json', '--since', '2000-01-01'], env)).stdout);
    expect(json.length).toBeGreaterThan(10);
    expect(JSON.stringify(json)).not.toContain(SIM_DEFAULT_API_KEY);
    const file = join(env.DATA_DIR!, 'audit.jsonl');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('"vmName":"cli-gpu"', '"vmName":"cli-gpx"'));
    const broken = await runVmbot(['audit', 'verify'], env);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/audit\.jsonl:\d+: its contents were changed after it was written/);
    await writeFile(file, text);
  });
});

describe('vmbot start', () => {
  it('names every missing or bad variable in one message and exits 2', async () => {
    const out = await runVmbot(['start'], { SLACK_BOT_TOKEN: 'xoxp-not-a-bot-token', VM_APPROVERS: 'bob', VERGEOS_URL: 'https://v.example.com' });
    expect(out.code).toBe(2);
    for (const line of [
      'SLACK_BOT_TOKEN must be a bot token (xoxb-…)',
      'VM_APPROVERS must be comma-separated user IDs (U…) and user-group IDs (S…)',
      'SLACK_SIGNING_SECRET is required',
      'VM_APPROVAL_CHANNEL is required',
      'VM_AUDIT_CHANNEL is required',
      'VERGEOS_API_KEY (or VERGEOS_USERNAME and VERGEOS_PASSWORD) is required',
    ])
      expect(out.stderr).toContain(line);
    expect(out.stderr).not.toContain('xoxp-not-a-bot-token');
  });
});
