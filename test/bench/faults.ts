// `npm run bench faults`: the long sweeps of the fault suite (test/support/faultSuite.ts), whose
// few-trial versions are test/moto/faults.test.ts. Not a measurement of speed: each row says how
// many trials held. FAULT_TRIALS=N scales every sweep (default 40: 40 kills, 20 runs per wire
// fault, 320 registrations).
import path from 'node:path';
import { startMoto } from '../support/moto.js';
import { buildScenario, host } from '../support/scenario.js';
import { startProxy } from '../support/proxy.js';
import { startRedis } from '../support/redis.js';
import { runInventory, writeIni } from '../support/run.js';
import { killTrial, registerMany, retag, stableIni, wireFaultRefresh, wireFaults } from '../support/faultSuite.js';

export async function faultSweeps(dir: string, addRow: (row: string[]) => void): Promise<void> {
  const trials = Number(process.env['FAULT_TRIALS'] ?? '40') || 40;
  const moto = await startMoto();
  const proxy = await startProxy(moto.endpoint);
  try {
    const s = await buildScenario(moto.endpoint);
    const web1 = host(s, 'web1');

    const ini = writeIni(dir, 'sweep-kill', stableIni);
    const reference = writeIni(dir, 'sweep-kill-reference', stableIni);
    await runInventory(ini, ['--list'], proxy.url);
    proxy.requests = 0;
    await runInventory(reference, ['--refresh-cache'], proxy.url);
    const requests = proxy.requests;
    const kills = { old: 0, new: 0, other: 0, listed: 0 };
    for (let i = 0; i < trials; i++) {
      const o = await killTrial({
        ini, reference, cacheDir: path.join(dir, 'sweep-kill-cache'), proxy, endpoint: moto.endpoint, requests,
        change: () => retag(moto.endpoint, web1.region, web1.id, `sweep-${i}`),
      });
      kills[o.cache]++;
      if (o.listMatches) kills.listed++;
      await runInventory(ini, ['--refresh-cache'], proxy.url);
    }
    addRow([`kill -9 of --refresh-cache at random points (${trials})`, `${kills.old} old, ${kills.new} new, ${kills.other} neither; ${kills.listed} listed whole`, `${kills.old + kills.new}/${trials}`, 'all old or new']);

    const wire = writeIni(dir, 'sweep-wire', { ...stableIni, max_attempts: '4' });
    const clean = (await runInventory(wire, ['--refresh-cache'], proxy.url)).stdout;
    const runs = Math.max(1, Math.round(trials / 2));
    for (const fault of wireFaults) {
      let same = 0;
      for (let i = 0; i < runs; i++) {
        const r = await wireFaultRefresh(fault, wire, proxy, moto.endpoint);
        if (r.code === 0 && r.stderr === '' && r.stdout === clean) same++;
      }
      addRow([`refresh under retried ${fault} (${runs})`, `${same} byte-identical to the clean output`, `${same}/${runs}`, 'all']);
    }

    const count = trials * 8;
    const fileCache = path.join(dir, 'sweep-reg-cache');
    const file = await registerMany({ ini: writeIni(dir, 'sweep-reg', { cache_path: fileCache }), endpoint: moto.endpoint, count, width: 16, prefix: 'sweep', registry: { cachePath: fileCache, cacheConnection: '' } });
    addRow([`concurrent registrations, file registry (${count}, 16 at once)`, `${file.registered.length} kept, ${file.failures.length} failed`, `${file.registered.length}/${count}`, 'none lost']);
    const redis = await startRedis(dir);
    try {
      const local = path.join(dir, 'sweep-reg-redis-local');
      const r = await registerMany({ ini: writeIni(dir, 'sweep-reg-redis', { cache_path: local, cache_connection: redis.url }), endpoint: moto.endpoint, count, width: 16, prefix: 'sweep', registry: { cachePath: local, cacheConnection: redis.url } });
      addRow([`concurrent registrations, Redis (${count}, 16 at once)`, `${r.registered.length} kept, ${r.failures.length} failed`, `${r.registered.length}/${count}`, 'none lost']);
    } finally {
      await redis.stop();
    }
  } finally {
    await proxy.close();
    await moto.stop();
  }
}
