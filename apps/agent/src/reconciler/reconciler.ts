import type { NodeConfig } from '../contracts';
import type { Logger } from '../logger';
import type { LiveInterface, PlanStep, WireGuardPort } from '../wireguard/wireguard-port';
import { isEmptyPlan, planEnforcement } from '../enforcement/enforcement-plan';
import type { EnforcementPort, EnforcementReadNeeds } from '../enforcement/enforcement-port';
import { buildRuleset, type RulesetBuild } from '../enforcement/nft-ruleset';
import { exitRoute, planReconcile, unusedExitRoutes } from './plan';

export interface ReconcileOutcome {
  /** The config now live, or null before the first one arrived. */
  config: NodeConfig | null;
  steps: PlanStep[];
  /** The interface had vanished since the agent started and was rebuilt. */
  recreated: boolean;
  /** The interface as read at the start of the run (its peers' handshakes and counters). */
  live: LiveInterface;
}

/** The enforcement side of one desired config: its ruleset and which parts of the live state it needs read. */
interface EnforcementBuild {
  config: NodeConfig;
  ruleset: RulesetBuild;
  needs: Omit<EnforcementReadNeeds, 'fwmark'>;
}

/**
 * Makes the live interface match the desired config: reads it, plans the difference, applies the plan.
 * Runs are serialised; requests arriving during a run are folded into one more run with the newest config.
 */
export class Reconciler {
  private running: Promise<void> | null = null;
  private again = false;
  private applied: NodeConfig | undefined;
  /**
   * What the desired config asks of enforcement, built (and its problems reported) once per config object — each
   * config or patch is a new one — rather than at every drift check.
   */
  private built: EnforcementBuild | null = null;
  private readonly listeners: Array<(outcome: ReconcileOutcome) => void> = [];
  private readonly failureListeners: Array<(err: unknown) => void> = [];

  constructor(
    private readonly port: WireGuardPort,
    private ownPublicKey: string,
    private readonly desired: () => NodeConfig | null,
    private readonly logger: Logger,
    /** Firewall, NAT, forwarding and QoS for the interface; without it only WireGuard is reconciled. */
    private readonly enforcement?: EnforcementPort,
  ) {}

  /**
   * The node's key was rotated (the private key file holds the new one): the next run sets it on the interface
   * with `wg set private-key`, without recreating the interface.
   */
  setOwnPublicKey(publicKey: string): void {
    this.ownPublicKey = publicKey;
  }

  /** Called after each successful run (used to persist the applied config and by tests). */
  onApplied(listener: (outcome: ReconcileOutcome) => void): void {
    this.listeners.push(listener);
  }

  /** Called after each failed run (the agent's metrics count them). */
  onFailed(listener: (err: unknown) => void): void {
    this.failureListeners.push(listener);
  }

  /** Asks for a run; resolves when a run that started after this call has finished. */
  request(reason: string): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.loop(reason).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Waits for the run in progress, if any. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(reason: string): Promise<void> {
    do {
      this.again = false;
      try {
        await this.runOnce(reason);
      } catch (err) {
        this.logger.error('reconcile failed; will retry at the next check', { reason, err });
        for (const listener of this.failureListeners) listener(err);
      }
      reason = 'coalesced';
    } while (this.again);
  }

  private async runOnce(reason: string): Promise<void> {
    const desired = this.desired();
    let live = await this.port.read();
    let recreated = false;
    if (live === null) {
      // Missing at start is the normal first run; missing later is drift worth a warning.
      const log = reason === 'start' ? this.logger.info : this.logger.warn;
      log('interface missing, creating it', { interface: this.port.interfaceName, reason });
      await this.port.create();
      live = await this.port.read();
      if (live === null) throw new Error(`interface ${this.port.interfaceName} did not come up`);
      recreated = true;
    }
    const steps = desired === null ? bootstrapSteps(live, this.ownPublicKey) : planReconcile(desired, live, this.ownPublicKey, this.applied);
    // Policy before peers: a peer added first would be reachable on every port until its rules followed.
    if (desired !== null && this.enforcement) await this.enforce(desired, live, reason);
    if (steps.length > 0) {
      await this.port.apply(steps);
      this.logger.info('applied changes to interface', {
        reason,
        version: desired?.version ?? null,
        steps: summarize(steps),
      });
    }
    if (desired !== null) this.applied = desired;
    const outcome = { config: desired, steps, recreated: recreated && reason !== 'start', live };
    for (const listener of this.listeners) listener(outcome);
  }

  /** Diffs the policy the config asks for against what the node enforces and applies the difference. */
  private async enforce(desired: NodeConfig, wg: LiveInterface, reason: string): Promise<void> {
    if (this.built?.config !== desired) this.built = this.build(desired);
    const { ruleset, needs } = this.built;
    const live = await this.enforcement!.read({ ...needs, fwmark: wg.fwmark });
    const plan = planEnforcement(desired, live, this.port.interfaceName, ruleset);
    if (isEmptyPlan(plan)) return;
    await this.enforcement!.apply(plan);
    this.logger.info('applied policy enforcement', {
      reason,
      version: desired.version,
      nftCommands: plan.nft === null ? 0 : plan.nft.trim().split('\n').length,
      tcCommands: plan.tc.length,
      forwarding: plan.enableForwarding || undefined,
      exitRoutingCommands: plan.exitRouting.length || undefined,
    });
  }

  private build(desired: NodeConfig): EnforcementBuild {
    const ruleset = buildRuleset(desired, this.port.interfaceName);
    for (const error of ruleset.errors) this.logger.warn('policy rule not enforced', { version: desired.version, error });
    const unused = unusedExitRoutes(desired);
    if (unused.length > 0) this.logger.warn('exit routes left out (IPv6, a second one, or via a peer it does not have)', { version: desired.version, routes: unused });
    return {
      config: desired,
      ruleset,
      needs: { forwarding: (desired.servedRoutes ?? []).length > 0, exitRouting: exitRoute(desired) !== null },
    };
  }
}

/** Before any config is known: key and link only, and never touch peers a previous run may have left working. */
function bootstrapSteps(live: LiveInterface, ownPublicKey: string): PlanStep[] {
  const steps: PlanStep[] = [];
  if (live.publicKey !== ownPublicKey) steps.push({ kind: 'set-private-key' });
  if (!live.up) steps.push({ kind: 'set-link-up' });
  return steps;
}

function summarize(steps: PlanStep[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const step of steps) counts[step.kind] = (counts[step.kind] ?? 0) + 1;
  return counts;
}
