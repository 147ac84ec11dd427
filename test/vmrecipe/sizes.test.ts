/** vcpu, RAM and disk from a VergeOS recipe's answers: by well-known name, else by type; defaults fill the gaps. */
import { describe, expect, it } from 'vitest';
import { sizesFromAnswers, sizesFromResolvedAnswers } from '../../src/vmrecipe/sizes.js';
import { question, ubuntuQuestions } from './recipe-fixture.js';

const GIB = 1024 ** 3;

describe('sizesFromAnswers', () => {
  it('reads YB_CPU_CORES, YB_RAM and sums YB_DRIVE_OS_SIZE and YB_DRIVE_<n>_SIZE', () => {
    expect(sizesFromAnswers({ YB_CPU_CORES: 4, YB_RAM: 8192, YB_DRIVE_OS_SIZE: 100 * GIB, YB_DRIVE_1_SIZE: 200 * GIB }, ubuntuQuestions())).toEqual({
      vcpu: 4,
      ramMb: 8192,
      diskBytes: 300 * GIB,
      unsized: [],
    });
  });

  it("takes the question's default for what was left out; a disk left at 0 is the image's own size, named as unsized", () => {
    expect(sizesFromAnswers({}, ubuntuQuestions())).toEqual({ vcpu: 2, ramMb: 4096, diskBytes: 50 * GIB, unsized: ['YB_DRIVE_OS_SIZE'] });
    expect(sizesFromAnswers({ YB_DRIVE_1_SIZE: 0 }, ubuntuQuestions())).toEqual({ vcpu: 2, ramMb: 4096, unsized: ['YB_DRIVE_OS_SIZE', 'YB_DRIVE_1_SIZE'] });
  });

  it('by type when the names are not the well-known ones: the first num saying CPU/cores, the first ram, every disksize summed', () => {
    const qs = [
      question({ name: 'COUNT', display: 'Replicas', type: 'num', orderid: 0, default: 3 }),
      question({ name: 'VCPUS', display: 'Virtual cores', type: 'num', orderid: 1, default: 2 }),
      question({ name: 'SOCKETS', display: 'CPU sockets', type: 'num', orderid: 2, default: 1 }),
      question({ name: 'MEM', display: 'Memory', type: 'ram', orderid: 3, default: 2048 }),
      question({ name: 'SWAP_MEM', display: 'Other', type: 'ram', orderid: 4, default: 512 }),
      question({ name: 'ROOT', display: 'Root', type: 'disksize', orderid: 5, default: 20 * GIB }),
      question({ name: 'DATA', display: 'Data', type: 'disksize', orderid: 6 }),
    ];
    expect(sizesFromAnswers({ DATA: 30 * GIB, MEM: 4096 }, qs)).toEqual({ vcpu: 2, ramMb: 4096, diskBytes: 50 * GIB, unsized: [] });
    expect(sizesFromAnswers({}, qs)).toEqual({ vcpu: 2, ramMb: 2048, diskBytes: 20 * GIB, unsized: ['DATA'] });
  });

  it('nothing known: no figures', () => {
    expect(sizesFromAnswers({}, [question({ name: 'X', type: 'string' })])).toEqual({ unsized: [] });
  });
});

describe('sizesFromResolvedAnswers', () => {
  it("reads a simulation's resolved answers (strings as VergeOS may send them), with or without the questions", () => {
    const resolved = { YB_CPU_CORES: '8', YB_RAM: '16384', YB_DRIVE_OS_SIZE: String(64 * GIB), YB_DRIVE_2_SIZE: 10 * GIB, YB_HOSTNAME: 'web' };
    expect(sizesFromResolvedAnswers(resolved, ubuntuQuestions())).toEqual({ vcpu: 8, ramMb: 16384, diskBytes: 124 * GIB, unsized: [] });
    expect(sizesFromResolvedAnswers(resolved, [])).toEqual({ vcpu: 8, ramMb: 16384, diskBytes: 74 * GIB, unsized: [] });
  });
});
