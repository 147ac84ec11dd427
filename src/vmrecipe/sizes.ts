/**
 * The figures policy and quotas test (vcpu, RAM, disk), read from a VergeOS recipe's answers.
 *
 * The rule, by name first and then by type:
 * - vcpu: the question named YB_CPU_CORES; else the first `num` question (in VergeOS's order)
 *   whose name or label says CPU or cores.
 * - ramMb: the question named YB_RAM; else the first `ram` question. In MB.
 * - diskBytes: the sum over every `disksize` question and every question or answer named
 *   YB_DRIVE_OS_SIZE or YB_DRIVE_<n>_SIZE. In bytes.
 * Each takes the answer when there is one, else the question's default (the platform applies it).
 * A disk answered 0 (or with no size at all) keeps the recipe image's own size, which the
 * questions do not say: it is named in `unsized`, so a quota can refuse rather than count it as 0.
 * With no questions (only a map VergeOS echoed), the well-known names are read from the map.
 */
import type { RecipeQuestion } from '../vergeos/recipe-types.js';
import { readDiskBytes, readRamMb, readWhole, type Converted } from './convert.js';

export interface RecipeSizes {
  vcpu?: number;
  ramMb?: number;
  diskBytes?: number;
  /** Disks whose size is the recipe image's own (answered 0, or no answer and no default). */
  unsized: string[];
}

const CPU_NAME = 'YB_CPU_CORES';
const RAM_NAME = 'YB_RAM';
const DRIVE_SIZE_NAME = /^YB_DRIVE_(OS|\d+)_SIZE$/;
const CPU_WORDS = /cpu|core/i;

type SizeQuestion = Pick<RecipeQuestion, 'name' | 'label' | 'type' | 'order' | 'default'>;

/** vcpu, RAM and disk from the answers a requester gave (defaults fill what they left out). */
export function sizesFromAnswers(answers: Readonly<Record<string, unknown>>, questions: readonly SizeQuestion[]): RecipeSizes {
  const ordered = [...questions].sort((a, b) => a.order - b.order);
  const valueOf = (name: string): unknown => answers[name] ?? ordered.find((q) => q.name === name)?.default;
  const read = <T>(name: string | undefined, reader: (v: unknown) => Converted<T>): T | undefined => {
    if (name === undefined) return undefined;
    const value = valueOf(name);
    if (value === undefined || value === null || value === '') return undefined;
    const converted = reader(value);
    return converted.ok ? converted.value : undefined;
  };

  const named = (name: string): string | undefined => (ordered.some((q) => q.name === name) || name in answers ? name : undefined);
  const cpu = named(CPU_NAME) ?? ordered.find((q) => q.type === 'num' && (CPU_WORDS.test(q.name) || CPU_WORDS.test(q.label)))?.name;
  const ram = named(RAM_NAME) ?? ordered.find((q) => q.type === 'ram')?.name;
  const disks = [
    ...new Set([
      ...ordered.filter((q) => q.type === 'disksize' || DRIVE_SIZE_NAME.test(q.name)).map((q) => q.name),
      ...Object.keys(answers).filter((k) => DRIVE_SIZE_NAME.test(k)),
    ]),
  ];

  const sizes: RecipeSizes = { unsized: [] };
  const vcpu = read(cpu, readWhole);
  if (vcpu !== undefined) sizes.vcpu = vcpu;
  const ramMb = read(ram, readRamMb);
  if (ramMb !== undefined) sizes.ramMb = ramMb;
  let diskBytes = 0;
  for (const disk of disks) {
    const bytes = read(disk, readDiskBytes);
    if (bytes === undefined || bytes === 0) sizes.unsized.push(disk);
    else diskBytes += bytes;
  }
  if (disks.length > sizes.unsized.length) sizes.diskBytes = diskBytes;
  return sizes;
}

/**
 * The same figures from the answers a simulation resolved (its `answers` map, defaults already
 * applied by VergeOS): what quotas count, since it is what the VM will hold. Values may come back
 * as strings ("8192"); they are read as the API's units.
 */
export function sizesFromResolvedAnswers(resolved: Readonly<Record<string, unknown>>, questions: readonly SizeQuestion[]): RecipeSizes {
  return sizesFromAnswers(resolved, questions);
}
