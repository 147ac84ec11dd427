/**
 * A real `vmbot apply` process is SIGKILLed between every pair of steps — while its next request
 * is in VergeOS's hands, before or after VergeOS acted on it — and `vmbot resume --all` in a new
 * process finishes the run with exactly one VM and the right children.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { SIM_DEFAULT_API_KEY, startVergeosSim } from '../../src/sim/index.js';
import { verifyAuditLog } from '../../src/store/audit.js';
import { tempDir } from '../helpers/core.js';
import { runVmbot, startVmbot, waitFor } from '../helpers/cli.js';
import { expectExactlyOnce, fullSpecInput, POST_STEPS } from '../helpers/full-spec.js';

const recipe = (name: string) => ({ recipe: 'kill-test', title: 'Every kind of step', ...fullSpecInput(name) });

/** Where the process is when it dies: the request of the next step, hung. */
const KILL_POINTS = [
  ...POST_STEPS.filter((p) => p.stepId !== 'power_on').map(({ stepId, route, nth }) => ({ before: stepId, route, nth })),
  { before: 'wait_imports', route: 'GET /machine_drives', nth: 1 },
  { before: 'power_on', route: 'POST /vm_actions', nth: 1 },
];
const CASES = KILL_POINTS.flatMap((p) =>
  p.route.startsWith('GET')
    ? [{ ...p, commit: false }]
    : [
        { ...p, commit: false },
        { ...p, commit: true },
      ],
);

describe('SIGKILL between steps, then resume in a new process', () => {
  it.concurrent.each(CASES)(
    'killed at $before (VergeOS acted: $commit)',
    async ({ before, route, nth, commit }) => {
      const sim = await startVergeosSim({ timing: { importMs: 150, startMs: 0, stopMs: 0 } });
      const { dir, remove } = await tempDir();
      try {
        const name = `kill-${before.replace(/[:_]/g, '-')}-${commit ? 'after' : 'before'}`;
        const file = join(dir, 'kill.yml');
        await writeFile(file, stringify(recipe(name)));
        const env = { VERGEOS_URL: sim.url, VERGEOS_API_KEY: SIM_DEFAULT_API_KEY, DATA_DIR: join(dir, 'data'), VMBOT_POLL_INTERVAL: '20ms', LOG_LEVEL: 'warn' };
        sim.faults.add({ route, nth, hang: true, commit });

        const apply = startVmbot(['apply', file, '--yes', '--json'], env);
        await waitFor(() => sim.requests.some((r) => r.outcome === 'hung'), `the ${route} request`);
        apply.child.kill('SIGKILL');
        expect((await apply.done).signal).toBe('SIGKILL');

        sim.faults.clear();
        const resume = await runVmbot(['resume', '--all', '--json'], env);
        expect(resume.stderr).not.toMatch(/Error/);
        expect(resume.code).toBe(0);
        const result = JSON.parse(resume.stdout) as { state: string; name: string; drives: unknown[]; nics: unknown[]; devices: unknown[]; poweredOn: boolean };
        expect(result).toMatchObject({ state: 'succeeded', name, poweredOn: true });
        expect([result.drives.length, result.nics.length, result.devices.length]).toEqual([2, 1, 1]);
        await expectExactlyOnce(sim, name);
        // The hung request was re-sent only if VergeOS had not acted on it.
        if (route.startsWith('POST')) {
          const sameRoute = route === 'POST /machine_drives' ? 2 : 1;
          expect(sim.requestsTo(route)).toHaveLength(sameRoute + (commit ? 0 : 1));
        }
        expect((await verifyAuditLog(join(dir, 'data', 'audit.jsonl'))).ok).toBe(true);
      } finally {
        await sim.close();
        await remove();
      }
    },
    60_000,
  );
});
