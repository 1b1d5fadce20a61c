// The later ec2.py's ElastiCache rules (add_elasticache_cluster, add_elasticache_node,
// add_elasticache_replication_group, get_host_info_dict_from_describe_dict), on SDK v3 records.
// Where the original pushed ids that are not hosts, or nested groups under names that do not exist,
// this port says so below and uses the host address and the real group name.
import type { CacheCluster, CacheClusterRecord, CacheNode, ReplicationGroup, ReplicationGroupRecord } from '../records/aws.js';
import type { HostVars, HostVarValue } from '../records/inventory.js';
import { accountHostname, accountVars, arnAccount, push_account_groups, set_id_group } from './accounts.js';
import { push, push_group, to_safe } from './groups.js';
import type { State } from './types.js';

function pushOnce(state: State, key: string, host: string): void {
  const group = state.inventory[key];
  if (Array.isArray(group) && group.includes(host)) return;
  push(state.inventory, key, host);
}

/** Adds a cluster (memcached by its configuration endpoint, single-node redis by its node) and its nodes. */
export function add_elasticache_cluster(state: State, record: CacheClusterRecord): void {
  const { inventory, settings, safe } = state;
  const g = settings.groupBy;
  const { cluster, region } = record;
  if (!settings.allElasticacheClusters && cluster.CacheClusterStatus !== 'available') return;

  // Redis clusters are single nodes: the original merges the node's details into the cluster.
  const isRedis = !cluster.ConfigurationEndpoint;
  const address = isRedis ? cluster.CacheNodes?.[0]?.Endpoint?.Address : cluster.ConfigurationEndpoint?.Address;
  // The original read CacheNodes[0] and died on a cluster still being created; it is skipped here.
  if (!address) return;
  const id = cluster.CacheClusterId ?? '';
  const dest = accountHostname(state, address, id);

  state.index[dest] = [region, id];

  if (g.instance_id) {
    set_id_group(state, id, dest);
    if (settings.nestedGroups) push_group(inventory, 'instances', id);
  }
  if (!isRedis) push_cache_node_groups(state, cluster, region, dest);
  const parameterGroup = cluster.CacheParameterGroup?.CacheParameterGroupName;
  if (g.elasticache_parameter_group && parameterGroup) {
    const key = safe('elasticache_parameter_group_' + parameterGroup);
    push(inventory, key, dest);
    // The original nested the bare parameter group name, which is no group.
    if (settings.nestedGroups) push_group(inventory, 'elasticache_parameter_groups', key);
  }
  if (g.elasticache_replication_group && cluster.ReplicationGroupId) {
    const key = safe('elasticache_replication_group_' + cluster.ReplicationGroupId);
    push(inventory, key, dest);
    if (settings.nestedGroups) push_group(inventory, 'elasticache_replication_groups', key);
  }

  // The original listed the cluster id here, which Ansible would take for a host name.
  push(inventory, 'elasticache_clusters', dest);
  pushOnce(state, 'elasticache', dest);

  const owner = arnAccount(cluster.ARN);
  push_account_groups(state, dest, owner);
  state.hostvars.set(dest, cacheHostVars(state, dest, address, owner, get_host_info_dict_from_describe_dict(cluster, settings.replaceDashInGroups)));

  for (const node of cluster.CacheNodes ?? []) add_elasticache_node(state, node, record);
}

/** Adds one node of a listed cluster, by its own endpoint. */
export function add_elasticache_node(state: State, node: CacheNode, record: CacheClusterRecord): void {
  const { inventory, settings, safe } = state;
  const g = settings.groupBy;
  const { cluster, region } = record;
  if (!settings.allElasticacheNodes && node.CacheNodeStatus !== 'available') return;
  const address = node.Endpoint?.Address;
  if (!address) return;

  const nodeId = safe((cluster.CacheClusterId ?? '') + '_' + (node.CacheNodeId ?? ''));
  const dest = accountHostname(state, address, nodeId);
  state.index[dest] = [region, nodeId];

  if (g.instance_id) {
    set_id_group(state, nodeId, dest);
    if (settings.nestedGroups) push_group(inventory, 'instances', nodeId);
  }
  push_cache_node_groups(state, cluster, region, dest);
  if (g.elasticache_cluster) {
    const key = safe('elasticache_cluster_' + (cluster.CacheClusterId ?? ''));
    push(inventory, key, dest);
  }

  push(inventory, 'elasticache_nodes', dest);
  pushOnce(state, 'elasticache', dest);

  // A redis cluster's address is its node's: the node's details join the cluster's.
  const info = get_host_info_dict_from_describe_dict(node, settings.replaceDashInGroups);
  const owner = arnAccount(cluster.ARN);
  push_account_groups(state, dest, owner);
  state.hostvars.set(dest, cacheHostVars(state, dest, address, owner, { ...(state.hostvars.get(dest) ?? {}), ...info }));
}

/** Adds a replication group by the primary endpoint of its first node group. */
export function add_elasticache_replication_group(state: State, record: ReplicationGroupRecord): void {
  const { inventory, settings } = state;
  const g = settings.groupBy;
  const { group, region } = record;
  if (!settings.allElasticacheReplicationGroups && group.Status !== 'available') return;
  // Cluster-mode groups have no primary endpoint: not addressable as one host.
  const address = group.NodeGroups?.[0]?.PrimaryEndpoint?.Address;
  if (!address) return;
  const id = group.ReplicationGroupId ?? '';
  const dest = accountHostname(state, address, id);

  state.index[dest] = [region, id];
  if (g.instance_id) {
    set_id_group(state, id, dest);
    if (settings.nestedGroups) push_group(inventory, 'instances', id);
  }
  if (g.region) {
    if (settings.nestedGroups) push_group(inventory, 'regions', region);
    else push(inventory, region, dest);
  }
  // The original wrote "redis": replication groups were always Redis then (now also Valkey).
  if (g.elasticache_engine) engineGroup(state, group.Engine || 'redis', dest);

  // As for clusters: the address, where the original listed the id.
  push(inventory, 'elasticache_replication_groups', dest);
  pushOnce(state, 'elasticache', dest);

  const owner = arnAccount(group.ARN);
  push_account_groups(state, dest, owner);
  state.hostvars.set(dest, cacheHostVars(state, dest, address, owner, get_host_info_dict_from_describe_dict(group, settings.replaceDashInGroups)));
}

/**
 * A cache host's variables with its account's. A host renamed because a host of an earlier account
 * has its address (account_collision, ec2py/accounts.ts) is still reached at that address.
 */
function cacheHostVars(state: State, dest: string, address: string, owner: string | undefined, vars: HostVars): HostVars {
  const own = accountVars(state, owner, vars);
  return dest === address ? own : { ...own, ansible_host: address };
}

/** The groups a memcached cluster and each cache node get alike: region, zone, type, security groups, engine. */
function push_cache_node_groups(state: State, cluster: CacheCluster, region: string, dest: string): void {
  const { inventory, settings } = state;
  const g = settings.groupBy;
  if (g.region) {
    if (settings.nestedGroups) push_group(inventory, 'regions', region);
    else push(inventory, region, dest);
  }
  const zone = cluster.PreferredAvailabilityZone ?? '';
  if (g.availability_zone && zone) {
    push(inventory, zone, dest);
    if (settings.nestedGroups && g.region) push_group(inventory, region, zone);
  }
  if (g.instance_type) {
    const typeName = state.safe('type_' + (cluster.CacheNodeType ?? ''));
    push(inventory, typeName, dest);
    if (settings.nestedGroups) push_group(inventory, 'types', typeName);
  }
  if (g.security_group) securityGroups(state, cluster, dest);
  if (g.elasticache_engine) engineGroup(state, cluster.Engine ?? '', dest);
}

function securityGroups(state: State, cluster: CacheCluster, dest: string): void {
  for (const sg of cluster.SecurityGroups ?? []) {
    const key = state.safe('security_group_' + (sg.SecurityGroupId ?? ''));
    push(state.inventory, key, dest);
    if (state.settings.nestedGroups) push_group(state.inventory, 'security_groups', key);
  }
}

function engineGroup(state: State, engine: string, dest: string): void {
  const key = state.safe('elasticache_' + engine);
  push(state.inventory, key, dest);
  // The original nested the bare engine name for clusters and replication groups: no such group.
  if (state.settings.nestedGroups) push_group(state.inventory, 'elasticache_engines', key);
}

/** The original's uncammelize: CacheClusterId → cache_cluster_id, ARN → arn. */
export function uncammelize(key: string): string {
  return key.replace(/(.)([A-Z][a-z]+)/g, '$1_$2').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/**
 * Flattens an ElastiCache description into hostvars: ec2_<snake_case> for every scalar, endpoints,
 * node roles, member clusters, parameter group and security group ids spelled out; other lists and
 * objects (timestamps included) are left out, as the original left out what boto gave as objects.
 */
export function get_host_info_dict_from_describe_dict(describe: object, replaceDash = false): HostVars {
  const info: Record<string, HostVarValue> = Object.create(null) as Record<string, HostVarValue>;
  for (const [name, value] of Object.entries(describe) as [string, unknown][]) {
    const key = to_safe('ec2_' + uncammelize(name), replaceDash);
    const v = value as Record<string, unknown> | null | undefined;
    if (key === 'ec2_configuration_endpoint' && v) {
      info['ec2_configuration_endpoint_address'] = String(v['Address'] ?? '');
      info['ec2_configuration_endpoint_port'] = Number(v['Port'] ?? 0);
    }
    if (key === 'ec2_endpoint' && v) {
      info['ec2_endpoint_address'] = String(v['Address'] ?? '');
      info['ec2_endpoint_port'] = Number(v['Port'] ?? 0);
    }
    if (key === 'ec2_node_groups' && Array.isArray(value) && value.length > 0) {
      const first = value[0] as ReplicationGroup['NodeGroups'] extends (infer N)[] | undefined ? N : never;
      info['ec2_endpoint_address'] = first.PrimaryEndpoint?.Address ?? '';
      info['ec2_endpoint_port'] = first.PrimaryEndpoint?.Port ?? 0;
      let replica = 0;
      for (const member of first.NodeGroupMembers ?? []) {
        if (member.CurrentRole === 'primary') {
          info['ec2_primary_cluster_address'] = member.ReadEndpoint?.Address ?? '';
          info['ec2_primary_cluster_port'] = member.ReadEndpoint?.Port ?? 0;
          info['ec2_primary_cluster_id'] = member.CacheClusterId ?? '';
        } else if (member.CurrentRole === 'replica') {
          info[`ec2_replica_cluster_address_${replica}`] = member.ReadEndpoint?.Address ?? '';
          info[`ec2_replica_cluster_port_${replica}`] = member.ReadEndpoint?.Port ?? 0;
          info[`ec2_replica_cluster_id_${replica}`] = member.CacheClusterId ?? '';
          replica++;
        }
      }
    }
    if (key === 'ec2_member_clusters' && Array.isArray(value) && value.length > 0) {
      info['ec2_member_clusters'] = value.map(String).join(',');
    } else if (key === 'ec2_cache_parameter_group' && v) {
      info['ec2_cache_node_ids_to_reboot'] = ((v['CacheNodeIdsToReboot'] as unknown[] | undefined) ?? []).map(String).join(',');
      info['ec2_cache_parameter_group_name'] = String(v['CacheParameterGroupName'] ?? '');
      info['ec2_cache_parameter_apply_status'] = String(v['ParameterApplyStatus'] ?? '');
    } else if (key === 'ec2_security_groups') {
      if (Array.isArray(value)) {
        info['ec2_security_group_ids'] = value.map((sg) => String((sg as { SecurityGroupId?: string }).SecurityGroupId ?? '')).join(',');
      }
    } else if (typeof value === 'number' || typeof value === 'boolean') {
      info[key] = value;
    } else if (typeof value === 'string') {
      info[key] = value.trim();
    } else if (value === null) {
      info[key] = '';
    }
  }
  return info;
}
