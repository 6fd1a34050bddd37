// Joining and leaving a running cluster (`xCommand Clustering Join` / `Leave`), the etcd way:
// a new member is first added through a client of the running cluster, then started with
// `--initial-cluster-state existing` and the member list etcd returned; a leaving member is removed
// through the client first (so the others stop counting it for quorum), then stopped and its data
// removed. Contract:
// - joinCluster resolves once the new member is ready (it has caught up and published itself);
//   when it cannot start, it is removed again so a dead voter does not lower the cluster's tolerance.
// - A join retried after a crash between the add and the start finds its own unstarted entry and
//   starts with it instead of adding a second one.
// - Both need a quorum (ClusterUnavailable otherwise); etcd itself refuses an addition or removal
//   that would leave fewer started members than a quorum, and any reconfiguration in the first 5 s
//   after its leader reached the members (joinCluster waits that out, up to 20 s).
import { ClusterUnavailable, type ClusterClient } from './client.js';
import type { EtcdMember } from './member.js';

export async function joinCluster(client: ClusterClient, member: EtcdMember, boundMs = 20_000): Promise<void> {
  const initialCluster = await addMember(client, member, boundMs);
  // Old data from an earlier membership would carry the wrong cluster and member IDs.
  await member.stop();
  member.wipe();
  member.reconfigure({ initialCluster, state: 'existing' });
  try {
    await member.start();
  } catch (e) {
    await member.stop();
    await client.removeMember(member.peerUrl).catch(() => undefined);
    throw e;
  }
}

/**
 * Adds the member (or finds its unstarted entry) and returns its --initial-cluster. etcd refuses a
 * reconfiguration until its leader has been connected to every member for 5 s ("unhealthy
 * cluster"), as right after a bootstrap or a restart, and an addition whose answer was lost may
 * still have happened: so this lists, adds, and tries again on any ClusterUnavailable, up to boundMs.
 */
async function addMember(client: ClusterClient, member: EtcdMember, boundMs: number): Promise<string> {
  const end = Date.now() + boundMs;
  for (;;) {
    try {
      const list = await client.members();
      const mine = list.find((m) => m.peerUrls.includes(member.peerUrl));
      if (mine && mine.name !== '') throw new Error(`${member.peerUrl} is already member ${mine.name} of the cluster`);
      if (mine) return list.flatMap((m) => m.peerUrls.map((u) => `${m.id === mine.id ? member.name : m.name}=${u}`)).join(',');
      return (await client.addMember(member.name, member.peerUrl)).initialCluster;
    } catch (e) {
      if (!(e instanceof ClusterUnavailable) || Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export async function leaveCluster(client: ClusterClient, member: EtcdMember): Promise<void> {
  await client.removeMember(member.name);
  // etcd exits by itself once it learns it was removed; stop() makes sure and stops restarts.
  await member.stop();
  member.wipe();
}
