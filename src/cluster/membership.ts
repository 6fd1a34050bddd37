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
//   that would leave fewer started members than a quorum.
import type { ClusterClient } from './client.js';
import type { EtcdMember } from './member.js';

export async function joinCluster(client: ClusterClient, member: EtcdMember): Promise<void> {
  const existing = (await client.members()).find((m) => m.peerUrls.includes(member.peerUrl));
  let initialCluster: string;
  if (existing && existing.name === '') {
    const list = await client.members();
    initialCluster = list.flatMap((m) => m.peerUrls.map((u) => `${m.id === existing.id ? member.name : m.name}=${u}`)).join(',');
  } else if (existing) {
    throw new Error(`${member.peerUrl} is already member ${existing.name} of the cluster`);
  } else {
    initialCluster = (await client.addMember(member.name, member.peerUrl)).initialCluster;
  }
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

export async function leaveCluster(client: ClusterClient, member: EtcdMember): Promise<void> {
  await client.removeMember(member.name);
  // etcd exits by itself once it learns it was removed; stop() makes sure and stops restarts.
  await member.stop();
  member.wipe();
}
