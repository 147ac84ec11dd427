/**
 * Reaching a VM: its NICs' addresses once VergeOS reports them. VergeOS learns an address some
 * time after power-on, so the sweep asks with back-off for a few minutes after a VM is ready —
 * each ask counted on the VM record, so a restart continues the back-off rather than starting it
 * again — and after that only on demand (`/vm-create mine`, `vmbot vms --refresh`). The VMs due
 * at one sweep are asked in one call (each VM still only when its own time has come). What VergeOS
 * says is written to the VM record (a compare-and-set) and an address that appears or changes is
 * reported once.
 */
import { isConflict } from '../errors.js';
import type { Store } from '../store/store.js';
import type { VmNetwork, VmRecord } from '../store/vm-record.js';
import type { VergeosApi } from '../vergeos/client.js';
import type { Nic } from '../vergeos/types.js';

/** How long after a VM is ready the sweep keeps asking for its addresses. */
export const ADDRESS_WINDOW_MS = 5 * 60_000;
/** The first ask this long after ready, then twice as long after each, at most `LONGEST_WAIT_MS`. */
const FIRST_WAIT_MS = 5_000;
const LONGEST_WAIT_MS = 60_000;

type AddressStore = Pick<Store, 'getVm' | 'vmsBy' | 'updateVm' | 'catchUp'>;

/** Whether every NIC the VM has is known with an address (a VM without NICs has nothing to wait for). */
export function allAddressed(vm: Pick<VmRecord, 'network' | 'spec'>): boolean {
  const nics = vm.network?.nics ?? [];
  return nics.length >= vm.spec.nics.length && nics.every((n) => n.ipaddress !== undefined);
}

/** When the sweep next asks VergeOS for this VM's addresses; undefined: it no longer does (answered, or past the window). */
export function nextAskAt(vm: Pick<VmRecord, 'state' | 'readyAt' | 'network' | 'spec' | 'keys'>): number | undefined {
  if (vm.state !== 'live' || !vm.readyAt || !vm.keys.machineKey || !vm.spec.nics.length || allAddressed(vm)) return undefined;
  const ready = Date.parse(vm.readyAt);
  const at = vm.network ? Date.parse(vm.network.readAt) + Math.min(FIRST_WAIT_MS * 2 ** vm.network.polls, LONGEST_WAIT_MS) : ready + FIRST_WAIT_MS;
  return at <= ready + ADDRESS_WINDOW_MS ? at : undefined;
}

/** The addresses known, as one comparable string (NICs without one do not count: nothing to tell yet). */
const addressesOf = (network: VmNetwork | undefined): string =>
  JSON.stringify((network?.nics ?? []).flatMap((n) => (n.ipaddress ? [[n.name, n.ipaddress]] : [])));

export class VmAddresses {
  readonly #store: AddressStore;
  readonly #api: Pick<VergeosApi, 'listNicsOf'>;
  readonly #now: () => number;

  constructor(deps: { store: AddressStore; vergeos: Pick<VergeosApi, 'listNicsOf'>; now?: () => number }) {
    this.#store = deps.store;
    this.#api = deps.vergeos;
    this.#now = deps.now ?? Date.now;
  }

  /**
   * Ask VergeOS now for one VM's NICs, and keep what it says on the VM record. `changed`: an
   * address appeared, changed or went since the record last said. A VM that changed meanwhile is
   * read again; one no longer live is returned as it is.
   */
  async read(vm: VmRecord): Promise<{ vm: VmRecord; changed: boolean }> {
    return (await this.readMany([vm]))[0]!;
  }

  /** As `read`, for several VMs in one call (per 100 machines); VMs without a machine key are returned as they are. */
  async readMany(vms: readonly VmRecord[]): Promise<Array<{ vm: VmRecord; changed: boolean }>> {
    // When it was asked: the back-off counts from the ask, however long VergeOS took to answer.
    const askedAt = new Date(this.#now()).toISOString();
    const nicsOf = await this.#nicsOf(vms);
    const out: Array<{ vm: VmRecord; changed: boolean }> = [];
    for (const vm of vms) out.push(vm.keys.machineKey ? await this.#keep(vm, nicsOf(vm.keys.machineKey), askedAt) : { vm, changed: false });
    return out;
  }

  /** The NICs of these VMs' machines, asked in one call; a machine VergeOS lists none of has none. */
  async #nicsOf(vms: readonly VmRecord[]): Promise<(machineKey: string) => Nic[]> {
    const machines = vms.flatMap((vm) => (vm.keys.machineKey ? [vm.keys.machineKey] : []));
    const byMachine = new Map<string, Nic[]>();
    for (const nic of machines.length ? await this.#api.listNicsOf(machines) : [])
      byMachine.set(nic.machineKey, [...(byMachine.get(nic.machineKey) ?? []), nic]);
    return (machineKey) => byMachine.get(machineKey) ?? [];
  }

  /** What VergeOS said of the VM's NICs, written to its record (compare-and-set, read again on a conflict). */
  async #keep(vm: VmRecord, nics: readonly Nic[], askedAt: string): Promise<{ vm: VmRecord; changed: boolean }> {
    const network = (polls: number): VmNetwork => ({
      nics: nics.map((n) => ({ name: n.name, ...(n.ipaddress ? { ipaddress: n.ipaddress } : {}), ...(n.macaddress ? { macaddress: n.macaddress } : {}) })),
      readAt: askedAt,
      polls,
    });
    for (let attempt = 0; attempt < 5; attempt++) {
      if (attempt) await this.#store.catchUp('vms', vm.id);
      const current = this.#store.getVm(vm.id);
      if (!current || current.state !== 'live') return { vm: current ?? vm, changed: false };
      const next = network((current.network?.polls ?? 0) + 1);
      const changed = addressesOf(current.network) !== addressesOf(next);
      try {
        const written = await this.#store.updateVm(vm.id, { version: current.version, states: ['live'] }, (v) => {
          v.network = next;
        });
        return { vm: written, changed };
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    return { vm: this.#store.getVm(vm.id) ?? vm, changed: false };
  }

  /** Every live VM whose next ask is due now, asked in one call; those whose addresses changed. */
  async sweep(): Promise<VmRecord[]> {
    const now = this.#now();
    const due = this.#store.vmsBy('state', 'live', (v) => {
      const at = nextAskAt(v);
      return at !== undefined && at <= now;
    });
    if (!due.length) return [];
    const askedAt = new Date(now).toISOString();
    // VergeOS not answering now: asked again at the next sweep (the back-off counts only answers).
    const nicsOf = await this.#nicsOf(due).catch(() => undefined);
    if (!nicsOf) return [];
    const changed: VmRecord[] = [];
    for (const vm of due) {
      // One VM's record not written (e.g. the store refusing) leaves the others' told.
      const read = await this.#keep(vm, nicsOf(vm.keys.machineKey!), askedAt).catch(() => undefined);
      if (read?.changed) changed.push(read.vm);
    }
    return changed;
  }
}
