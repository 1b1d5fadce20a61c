// One refresh of several AWS accounts ([account NAME] sections): every account's listings go into
// the same bounded wave (max_concurrency across all of them) and reach the rules in a fixed order
// (accounts as the ini lists them, each in ec2.py's order), whatever order the answers arrive in.
// Credentials are resolved once per account per refresh (identity.ts).
import type { Settings } from '../../settings/read.js';
import { accountSettings, checkAccounts, roleAccountId } from '../../settings/accounts.js';
import { AwsError, InventoryError, SettingsError } from '../../errors.js';
import { RefreshTimeoutError } from './http.js';
import type { Route53RecordSet } from '../../records/aws.js';
import { accountAuths, getAccountId } from './identity.js';
import {
  InOrder, probeRegionOf, regionListings, resolveRegions, runLimited,
  type AccountContext, type FetchProgress, type FetchSettings, type Listing, type RecordBatch, type RecordSink,
} from './listings.js';

interface Plan {
  name: string;
  /** Known from the role ARN, else asked of STS. */
  id: string | undefined;
  settings: Settings;
  fetch?: FetchSettings;
  regions: string[];
  /** The check of named regions, running beside the listings (its verdict wins, as for one account). */
  checked?: Promise<unknown>;
  route53?: Route53RecordSet[];
  failed?: Error;
}

type Delivery = { batch: RecordBatch } | { failed: number; error: Error };

export async function streamAccounts(top: Settings, sink: RecordSink, onProgress?: (p: FetchProgress) => void): Promise<void> {
  checkAccounts(top);
  const warn = top.accountErrors === 'warn';
  const probe = probeRegionOf(top);
  const plans: Plan[] = (top.accounts ?? []).map((account) => {
    const role = account.iamRole ?? (account.profile ? undefined : top.iamRole);
    return { name: account.name, id: role ? roleAccountId(role) : undefined, settings: accountSettings(top, account), regions: [] };
  });
  const { auths, close } = await accountAuths(top, plans.map((p, k) => ({ ...p.settings, ownRole: Boolean(top.accounts?.[k]?.iamRole) })), probe);
  try {
    // Under fail, the first failure is the refresh's; under warn it is its account's.
    const failAccount = (k: number, err: unknown): void => {
      const plan = plans[k] as Plan;
      const error = inAccount(plan, err);
      if (!warn || err instanceof RefreshTimeoutError) throw error;
      plan.failed ??= error;
    };
    await Promise.all(plans.map(async (plan, k) => {
      try {
        plan.fetch = { ...plan.settings, clientAuth: await auths[k] };
        const named = plan.settings.regions !== 'all' && !plan.settings.eucalyptus;
        const checked = resolveRegions(plan.fetch);
        if (!named) {
          plan.regions = await checked;
          return;
        }
        plan.regions = plan.settings.regions as string[];
        plan.checked = checked;
        checked.catch(() => { /* reported when the account's listings are done */ });
      } catch (err) {
        failAccount(k, err);
      }
    }));
    await fetchAccounts(top, plans, warn, failAccount, sink, onProgress);
    const failed = plans.filter((p) => p.failed);
    if (failed.length === plans.length) throw (failed[0] as Plan).failed;
  } finally {
    close();
  }
}

async function fetchAccounts(
  top: Settings, plans: Plan[], warn: boolean, failAccount: (k: number, err: unknown) => void,
  sink: RecordSink, onProgress?: (p: FetchProgress) => void,
): Promise<void> {
  const listings: { account: number; region: string; list: Listing; counted: boolean }[] = [];
  plans.forEach((plan, account) => {
    if (plan.failed || !plan.fetch) return;
    for (const region of plan.regions) for (const l of regionListings(plan.fetch, region)) listings.push({ account, ...l });
  });
  const progress: FetchProgress = { regionsDone: 0, regionsTotal: plans.reduce((n, p) => n + p.regions.length, 0), instances: 0 };
  const regionLeft = new Map<string, number>();
  for (const l of listings) if (l.counted) regionLeft.set(`${l.account} ${l.region}`, (regionLeft.get(`${l.account} ${l.region}`) ?? 0) + 1);
  onProgress?.({ ...progress });

  // fail: every listing is a slot and pages stream through. warn: every account is one slot, its
  // pages held until the whole account has answered, so a failing account adds nothing but its
  // stale hosts, in its own place.
  const deliver = (d: Delivery) => ('batch' in d ? sink.add(d.batch) : sink.accountFailed?.(d.failed, d.error));
  const inOrder = new InOrder<Delivery>(warn ? plans.length : listings.length, deliver);
  const held: RecordBatch[][][] = plans.map(() => []);
  const listingsLeft = plans.map((_, k) => listings.filter((l) => l.account === k).length);
  const accountDone = async (k: number) => {
    const plan = plans[k] as Plan;
    if (!plan.failed) {
      try {
        await plan.checked;
      } catch (err) {
        failAccount(k, err);
      }
    }
    if (plan.failed) inOrder.push(k, { failed: k, error: plan.failed });
    // Indexed by listing: forEach walks them in listing order and skips listings that sent nothing.
    else (held[k] as RecordBatch[][]).forEach((batches) => { for (const batch of batches) inOrder.push(k, { batch }); });
    held[k] = [];
    inOrder.finish(k);
  };

  // The account ids STS must tell, and Route53 of each account: the rules wait for them.
  const prerequisites: { account: number; run: () => Promise<void> }[] = [];
  plans.forEach((plan, account) => {
    const fetch = plan.fetch;
    if (plan.failed || !fetch) return;
    if (plan.id === undefined) {
      prerequisites.push({ account, run: async () => { plan.id = await getAccountId(fetch, probeRegionOf(fetch)); } });
    }
    if (plan.settings.route53) {
      prerequisites.push({ account, run: async () => {
        plan.route53 = await (await import('./route53.js')).getRoute53Records(fetch, plan.settings.route53ExcludedZones);
      } });
    }
  });
  let waiting = prerequisites.length;
  const begin = () => {
    checkDistinct(top, plans);
    const accounts: AccountContext[] = plans.map((p) => ({ name: p.name, id: p.id, settings: p.settings, ...(p.route53 ? { route53: p.route53 } : {}) }));
    sink.begin({ regions: [...new Set(plans.flatMap((p) => p.regions))], route53: undefined, accounts });
    inOrder.start();
  };
  if (waiting === 0) begin();
  // Accounts that failed before their first listing, or have none, are done at once (delivered after begin).
  plans.forEach((_, k) => { if (warn && listingsLeft[k] === 0) void accountDone(k); });

  const tasks: (() => Promise<void>)[] = prerequisites.map(({ account, run }) => async () => {
    try {
      if (!plans[account]?.failed) await run();
    } catch (err) {
      failAccount(account, err);
    }
    if (--waiting === 0) begin();
  });
  listings.forEach(({ account, region, list, counted }, slot) => {
    const plan = plans[account] as Plan;
    tasks.push(async () => {
      try {
        if (!plan.failed) {
          await list((batch) => {
            if (plan.failed) return;
            progress.instances += (batch.instances?.length ?? 0) + (batch.dbInstances?.length ?? 0);
            const withRegion: RecordBatch = { ...batch, region, account };
            if (warn) ((held[account] as RecordBatch[][])[slot] ??= []).push(withRegion);
            else inOrder.push(slot, { batch: withRegion });
          });
        }
      } catch (err) {
        failAccount(account, err);
      }
      if (!warn) inOrder.finish(slot);
      else if (--(listingsLeft[account] as number) === 0) await accountDone(account);
      if (counted) {
        const key = `${account} ${region}`;
        const left = (regionLeft.get(key) ?? 1) - 1;
        regionLeft.set(key, left);
        if (left === 0) progress.regionsDone++;
        onProgress?.({ ...progress });
      }
    });
  });
  await runLimited(tasks, top.maxConcurrency);
  // Under warn each account waited for its own region check; under fail the verdict comes now.
  if (!warn) {
    for (let k = 0; k < plans.length; k++) {
      try {
        await plans[k]?.checked;
      } catch (err) {
        failAccount(k, err);
      }
    }
  }
}

/** Two sections that turned out to be one account (profiles, or the [ec2] identity). */
function checkDistinct(top: Settings, plans: Plan[]): void {
  const byId = new Map<string, string>();
  for (const plan of plans) {
    if (plan.id === undefined || plan.failed) continue;
    const before = byId.get(plan.id);
    if (before !== undefined) {
      throw new SettingsError(`${top.iniPath}: [account ${before}] and [account ${plan.name}] are both account ${plan.id}: one section per account`, top.iniPath);
    }
    byId.set(plan.id, plan.name);
  }
}

/** An account's failure, its message starting with the account. */
function inAccount(plan: Plan, err: unknown): Error {
  if (err instanceof RefreshTimeoutError) return err;
  const prefix = `account ${plan.name}${plan.id ? ` (${plan.id})` : ''}: `;
  if (err instanceof AwsError) return new AwsError(prefix + err.message, err.service, err.region, err.awsCode, { cause: err });
  if (err instanceof SettingsError) return new SettingsError(prefix + err.message, err.file, err.option, err.line);
  if (err instanceof InventoryError) return new InventoryError(prefix + err.message, { cause: err });
  return err instanceof Error ? err : new Error(String(err));
}
