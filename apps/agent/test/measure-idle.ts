/**
 * Idle cost of the agent at its production defaults (heartbeat 30 s, drift check 5 s): three agents and the
 * control plane in namespaces, as in the mesh e2e, then RSS and CPU over a quiet minute. Not part of `npm test`
 * (it mostly waits); run it with:
 *
 *   npm run build && npx jest --config '{"preset":"ts-jest","testEnvironment":"node","rootDir":".",
 *     "testMatch":["<rootDir>/apps/agent/test/measure-*.ts"],
 *     "moduleNameMapper":{"^@meshgate/(domain|contracts)$":"<rootDir>/libs/$1/src"}}'
 */
import { readFileSync } from 'node:fs';
import { MeshLab, sleep, waitFor } from './harness/mesh-lab';

const NAMES = ['n1', 'n2', 'n3'];
const WINDOW_MS = 60_000;

const cpuTicks = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
};
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

describe('agent idle cost at default intervals', () => {
  const lab = new MeshLab();
  afterAll(() => lab.teardown());

  it('prints RSS and idle CPU', async () => {
    MeshLab.preflight();
    await lab.createNetwork(NAMES);
    await lab.startControlPlane();
    const key = await lab.bootstrapTenant();
    await lab.putPolicy([{ action: 'accept', src: ['*'], dst: ['*'] }]);
    for (const name of NAMES) {
      lab.writeAgentConfig(name, key, { heartbeat: 30, reconcile: 5 });
      lab.startAgent(name);
    }
    const meshed = async () => {
      for (const name of NAMES) if ((await lab.peers(name)).length !== 2) return false;
      return true;
    };
    await waitFor(meshed, 30_000, () => lab.tails(), 200);
    await sleep(5_000);
    const pids = NAMES.map((n) => lab.node(n).agent!.pid);
    const before = pids.map(cpuTicks);
    await sleep(WINDOW_MS);
    const cpu = pids.map((pid, i) => ((cpuTicks(pid) - before[i]) / 100 / (WINDOW_MS / 1000)) * 100);
    process.stdout.write(
      `\nagent idle at defaults (heartbeat 30 s, drift check 5 s) over ${WINDOW_MS / 1000} s\n` +
        `  RSS: ${pids.map((p) => rssMiB(p).toFixed(1)).join(' / ')} MiB\n` +
        `  CPU: ${cpu.map((c) => c.toFixed(2)).join(' / ')} % of one core\n`,
    );
    expect(await meshed()).toBe(true);
  }, 180_000);
});
