import type { KubeConfig } from '@kubernetes/client-node';
import { createLeaderElector, createShardMembership, type LeaderElector, type LeaseTiming, type ShardMembership } from '@converge/kube-sink';
import type { AgentConfig } from './config.ts';
import type { Log } from './logger.ts';

/** What the agent's fleet needs of the replica coordination. */
export interface Replicas {
  /** Given to `createFleet`: the elector guards every write, or the shard places the apps. */
  fleetOptions: { writeGuard: LeaderElector } | { shard: ShardMembership };
  /** Starts coordinating; the fleet runs while this replica leads (leader) or at once (shard). */
  run(fleet: { start(): void; stop(): Promise<void> }): void;
  /** Whether this replica is a standby that runs nothing (it is ready, and waits to lead). */
  standby(): boolean;
  /** Gives the Leases up so another replica takes over at once; call after the fleet stopped. */
  stop(): Promise<void>;
}

/** Options of {@link agentReplicas}. */
export interface AgentReplicasOptions {
  mode: NonNullable<AgentConfig['replicas']>['mode'];
  kubeConfig: KubeConfig;
  /** The fleet's name: the leader Lease is `<name>-leader`, membership Leases `<name>-<identity>`. */
  name: string;
  /** Where the Leases live. */
  namespace: string;
  /** This replica, unique among them (the pod name). */
  identity: string;
  /** The Leases' timing. @default kube-sink's (client-go's 15 s / 10 s / 2 s) */
  lease?: LeaseTiming;
  log: Log;
}

/**
 * Runs the agent as one of several replicas, on `coordination.k8s.io` Leases: `leader` (one
 * replica's fleet runs and writes; on losing the lease it stops, a standby starts) or `shard`
 * (every replica runs the apps that rendezvous hashing gives it). See docs/scale.md.
 */
export function agentReplicas(o: AgentReplicasOptions): Replicas {
  if (o.mode === 'shard') {
    const shard = createShardMembership({ kubeConfig: o.kubeConfig, namespace: o.namespace, group: o.name, identity: o.identity, ...o.lease });
    shard.on('shard.settled', (e) => o.log('info', 'shard settled', { identity: o.identity, members: e.members.map((m) => m.id) }));
    shard.on('shard.lost', (e) => o.log('warn', 'shard membership lost', { identity: o.identity, reason: e.reason }));
    shard.on('lease.failed', (e) => o.log('warn', 'lease request failed', { identity: o.identity, code: e.error.code, error: e.error.message }));
    return {
      fleetOptions: { shard },
      run(fleet) {
        shard.start();
        fleet.start();
      },
      standby: () => false,
      stop: () => shard.stop(),
    };
  }
  const elector = createLeaderElector({ kubeConfig: o.kubeConfig, lease: { namespace: o.namespace, name: `${o.name}-leader` }, identity: o.identity, ...o.lease });
  elector.on('lease.failed', (e) => o.log('warn', 'lease request failed', { identity: o.identity, code: e.error.code, error: e.error.message }));
  return {
    fleetOptions: { writeGuard: elector },
    run(fleet) {
      elector.on('leader.acquired', (e) => {
        o.log('info', 'leading', { identity: o.identity, lease: e.lease });
        fleet.start();
      });
      elector.on('leader.lost', (e) => {
        o.log(e.reason === 'stopped' ? 'info' : 'warn', 'not leading', { identity: o.identity, lease: e.lease, reason: e.reason });
        // On 'stopped' the agent is shutting down and stops the fleet itself, before this.
        if (e.reason !== 'stopped') void fleet.stop();
      });
      elector.start();
    },
    standby: () => !elector.isLeader(),
    stop: () => elector.stop(),
  };
}
