// include_rds_clusters: the later ec2.py's include_rds_clusters_by_region put the cluster
// descriptions, not hosts, under the top-level key "db_clusters". It replaced that key for each
// region, so only the last region's clusters survived; here every region's are collected.
import type { InstanceFilter } from '../settings/later.js';
import type { DBCluster, DBClusterRecord, JsonValue } from '../records/aws.js';
import type { State } from './types.js';
import { arnAccount } from './accounts.js';

/** Sets inventory.db_clusters from every region's clusters that have members and match the filters. */
export function add_rds_clusters(state: State, records: DBClusterRecord[]): void {
  state.inventory.db_clusters = rds_clusters_of(state, records);
}

/**
 * With [account NAME] sections: db_clusters of every account whose settings include them, each
 * account's clusters matched against its own instance_filters. A cluster id an earlier account
 * already has is keyed ID@ACCOUNT_ID, as a host of the same name is renamed (no cluster lost).
 */
export function add_account_rds_clusters(states: readonly State[], batches: readonly { account?: number; dbClusters?: DBClusterRecord[] }[]): void {
  let all: Record<string, JsonValue> | undefined;
  states.forEach((state, k) => {
    if (!state.settings.includeRdsClusters) return;
    all ??= Object.create(null) as Record<string, JsonValue>;
    const own = state.previousClusters
      ? Object.fromEntries(state.previousClusters.map((c) => [String((c as { DBClusterIdentifier?: unknown }).DBClusterIdentifier ?? ''), c]))
      : rds_clusters_of(state, batches.filter((b) => b.account === k).flatMap((b) => b.dbClusters ?? []));
    for (const [id, cluster] of Object.entries(own)) {
      const owner = arnAccount((cluster as { DBClusterArn?: string }).DBClusterArn) ?? state.account?.id ?? state.account?.name ?? k;
      all[Object.hasOwn(all, id) ? `${id}@${owner}` : id] = cluster;
    }
  });
  const first = states[0];
  if (all && first) first.inventory.db_clusters = all;
}

function rds_clusters_of(state: State, records: DBClusterRecord[]): Record<string, JsonValue> {
  const clusters: Record<string, JsonValue> = Object.create(null) as Record<string, JsonValue>;
  for (const { cluster } of records) {
    // Deleted clusters can linger without members (an AWS bug the original worked around).
    if ((cluster.DBClusterMembers ?? []).length === 0) continue;
    if (!clusterMatchesFilters(cluster, state.settings.instanceFilterCalls ?? [])) continue;
    clusters[cluster.DBClusterIdentifier ?? ''] = toJson({ ...cluster, Tags: cluster.TagList ?? [] });
  }
  return clusters;
}

/**
 * The original matched clusters against the tag:<key> instance filters only: kept when one of them
 * names a tag the cluster has with one of the filter's values. Other filters cannot apply to a
 * cluster (the original died on them); with no tag filter at all every cluster is kept.
 */
export function clusterMatchesFilters(cluster: DBCluster, calls: InstanceFilter[][]): boolean {
  const tagFilters = calls.flat().filter((f) => f.name.startsWith('tag:'));
  if (tagFilters.length === 0) return true;
  const tags = cluster.TagList ?? [];
  return tagFilters.some((f) => tags.some((t) => t.Key === f.name.slice(4) && f.values.includes(t.Value ?? '')));
}

/** JSON as the original's json.dumps(default=isoformat) writes boto3's values. */
function toJson(value: unknown): JsonValue {
  if (value instanceof Date) return pythonIsoformat(value);
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === 'object') {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v);
    return out;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return null;
}

/** datetime.isoformat() of boto3's UTC datetimes: microseconds only when not zero, +00:00. */
export function pythonIsoformat(d: Date): string {
  const base = d.toISOString().slice(0, 19);
  const ms = d.getUTCMilliseconds();
  return `${base}${ms ? '.' + String(ms * 1000).padStart(6, '0') : ''}+00:00`;
}
