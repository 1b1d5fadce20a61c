// The exact disk image push ec2 uploads, booted the way an EC2 Nitro instance boots it: BIOS (the
// AMI is registered legacy-bios), the root disk on an NVMe controller (no virtio-blk anywhere), a
// plain NIC configured by DHCP, SMBIOS saying "Amazon EC2" as Nitro's does, and the instance
// metadata service at 169.254.169.254 answering IMDSv2 from a server on loopback that qemu's user
// network forwards that one address and port to (restrict=on: the guest reaches nothing else).
// cloud-init's Ec2 datasource must take the hostname, and the SSH key and user-data that launch ec2
// sent (read back from moto), and ansible-playbook must log in with the key.
// The end-to-end test runs it on the Debian root it builds (rootfs build --for ec2): one more TCG
// boot of a few minutes, no second root.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { DescribeInstanceAttributeCommand, EC2Client } from '@aws-sdk/client-ec2';
import { freePort, startMoto } from '../../support/moto.js';
import { awsEnv, run, writeIni } from '../../support/run.js';
import { busyboxBinary } from './guest.js';
import { startImds } from './imds.js';
import { provisionBin } from './inspect.js';
import { detectAccel } from './qemu.js';

const region = 'us-east-1';

async function provision(args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<Record<string, unknown>> {
  const r = await run(process.execPath, [provisionBin, ...args], env, timeoutMs);
  assert.equal(r.code, 0, `ec2-provision ${args.slice(0, 2).join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

function sha256(file: string): string {
  return execFileSync('sha256sum', ['--', file], { encoding: 'utf8' }).slice(0, 64);
}

/** Resolves once the port answers with an SSH banner; qemu's death or the deadline end the wait. */
async function sshBanner(port: number, deadline: number, alive: () => boolean): Promise<void> {
  while (Date.now() < deadline) {
    if (!alive()) throw new Error('qemu exited before SSH answered');
    const banner = await new Promise<string>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      let got = '';
      s.setTimeout(3000, () => s.destroy());
      s.on('data', (d) => { got += d.toString(); if (got.includes('\n')) s.destroy(); });
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(''));
    });
    if (banner.startsWith('SSH-2.0-')) return;
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error('no SSH banner before the deadline');
}

/** The tools bootLikeNitro runs (beside those of rootfs build, which the caller checks). */
export const nitroTools = ['qemu-system-x86_64', 'qemu-img', 'ssh', 'ssh-keygen', 'ansible-playbook', 'sfdisk', 'mkfs.ext4', 'grub-mkimage', 'apt-get', 'dpkg'];

/** Template, image build --for ec2, push ec2 and launch ec2 (moto), then the boot and its checks. */
export async function bootLikeNitro(t: TestContext, root: string, parent: string): Promise<void> {
  const dir = path.join(parent, 'nitro');
  fs.mkdirSync(dir);
  await provision(['template', 'build', '--rootfs', root, '--name', 'debian-12-ec2', '--out', dir], 30 * 60_000);
  const image = path.join(dir, 'ec2.raw');
  const built = await provision(['image', 'build', '--from', path.join(dir, 'debian-12-ec2.tar.gz'), '--for', 'ec2', '--boot-loader', 'grub', '--format', 'raw', '--size', '3G', '--out', image], 30 * 60_000);
  assert.equal(built['biosBootable'], true);
  const before = sha256(image);

  const moto = await startMoto();
  const qemuChild: { kill?: () => void } = {};
  let server: Awaited<ReturnType<typeof startImds>> | undefined;
  try {
    const imds = await (async () => {
      const env = awsEnv(moto.endpoint, { EC2_INI_PATH: writeIni(dir, 'nitro', { regions: region, route53: 'False', rds: 'False', elasticache: 'False' }) });
      const pushed = await provision(['push', 'ec2', '--region', region, '--image', image, '--name', 'ec2inv-nitro'], 20 * 60_000, env);
      const ami = pushed['imageId'] as string;
      assert.equal(sha256(image), before, 'the pushed file is the file booted below');
      const ec2 = new EC2Client({ region, endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
      // Registered legacy-bios (push ec2's default; moto does not keep BootMode), so booted below by
      // SeaBIOS running the boot code push ec2 found in the MBR: the disk's own GRUB.
      assert.equal(pushed['bootCode'], true);

      const key = path.join(dir, 'id_ed25519');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nitro', '-f', key]);
      const own = path.join(dir, 'user-data.yaml');
      fs.writeFileSync(own, '#cloud-config\nwrite_files:\n  - path: /etc/ec2inv-user-data\n    content: "from launch ec2 --user-data\\n"\n');
      const launched = await provision(['launch', 'ec2', '--region', region, '--ami', ami, '--instance-type', 't3.micro', '--groups', 'nitro',
        '--ssh-key', `${key}.pub`, '--user-data', own, '--wait', '60'], 5 * 60_000, env);
      const instanceId = (launched['instances'] as { instanceId: string }[])[0]!.instanceId;
      const attr = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: instanceId, Attribute: 'userData' }));
      const userData = Buffer.from(attr.UserData?.Value ?? '', 'base64').toString('utf8');
      assert.match(userData, /ssh-ed25519 /);
      server = await startImds({
        instanceId, amiId: ami, instanceType: 't3.micro', localHostname: 'ip-169-254-0-15.ec2.internal', localIpv4: '169.254.0.15',
        mac: '52:54:00:12:34:56', region, availabilityZone: `${region}a`, publicKeys: [], userData,
      });
      return { server, instanceId, key };
    })();
      const port = await freePort();
      const serial = path.join(dir, 'serial.log');
      const accel = detectAccel();
      const uuid = `ec2${crypto.randomBytes(3).toString('hex').slice(0, 5)}-${crypto.randomUUID().slice(9)}`;
      const args = [
        '-accel', accel, ...(accel === 'kvm' ? ['-cpu', 'host'] : []), '-machine', 'q35', '-m', '1024', '-smp', '2',
        '-nodefaults', '-no-reboot', '-display', 'none', '-serial', `file:${serial}`,
        // Nitro's SMBIOS: what cloud-init's ds-identify and its Ec2 datasource recognise as AWS.
        // Its product UUID starts with ec2 and equals the serial number (cloud-init's identify_aws).
        '-smbios', `type=1,manufacturer=Amazon EC2,product=t3.micro,uuid=${uuid},serial=${uuid}`,
        '-drive', `file=${image},format=raw,if=none,id=root,snapshot=on`,
        '-device', `nvme,drive=root,serial=${imds.instanceId.replace('i-', 'vol')}`,
        // slirp forwards only addresses inside its own network, so that network is 169.254.0.0/16 (the
      // guest gets 169.254.0.15 by DHCP) and 169.254.169.254:80 is a forward to the metadata server.
      '-netdev', `user,id=n0,restrict=on,net=169.254.0.0/16,host=169.254.0.2,dns=169.254.0.3,dhcpstart=169.254.0.15,hostfwd=tcp:127.0.0.1:${port}-:22,guestfwd=tcp:169.254.169.254:80-cmd:${busyboxBinary()} nc 127.0.0.1 ${imds.server.port}`,
        '-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56',
      ];
      const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      qemuChild.kill = () => child.kill('SIGKILL');
      const started = Date.now();
      try {
        await sshBanner(port, started + 20 * 60_000, () => child.exitCode === null);
      } catch (err) {
        const log = fs.existsSync(serial) ? fs.readFileSync(serial, 'utf8') : '';
        throw new Error(`${(err as Error).message} (${accel}); qemu: ${stderr.trim()}\nserial log tail:\n${log.slice(-4000)}`);
      }
      t.diagnostic(`SSH banner ${Math.round((Date.now() - started) / 1000)} s after qemu started (${accel})`);
      const log = fs.readFileSync(serial, 'utf8');
      assert.match(log, /nvme0n1: p1/, 'the kernel found the partition on the NVMe disk');
      assert.doesNotMatch(log, /virtio_blk|\bvda\b/);

      const ssh = (command: string) => execFileSync('ssh', [
        '-i', imds.key, '-p', String(port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
        '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=20', 'ansible@127.0.0.1', command,
      ], { encoding: 'utf8', timeout: 120_000 });
      // cloud-init may still be finishing (the user exists once SSH lets the key in); wait for it.
      ssh('cloud-init status --wait >/dev/null || true');
      assert.equal(ssh('hostname').trim(), 'ip-169-254-0-15', 'hostname from meta-data local-hostname');
      assert.equal(ssh('cat /etc/ec2inv-user-data'), 'from launch ec2 --user-data\n');
      assert.equal(ssh('findmnt -no SOURCE /').trim(), '/dev/nvme0n1p1');
      assert.equal(ssh('sudo cloud-init query v1.cloud_name').trim(), 'aws');
      assert.equal(ssh('sudo cloud-init query v1.instance_id').trim(), imds.instanceId);
      assert.match(ssh('hostname -I'), /\b169\.254\.0\.15\b/, 'address by DHCP');

      const reqs = imds.server.requests;
      assert.ok(reqs.some((r) => r.method === 'PUT' && r.path === '/latest/api/token' && r.status === 200), 'IMDSv2: a token was asked for');
      assert.ok(reqs.some((r) => /\/meta-data\/instance-id$/.test(r.path) && r.token && r.status === 200), 'meta-data read with the token');
      assert.ok(reqs.some((r) => /\/user-data$/.test(r.path) && r.token && r.status === 200), 'user-data read with the token');
      assert.deepEqual(reqs.filter((r) => r.status === 200 && r.method === 'GET' && !r.token), [], 'nothing served without a token');

      const inventory = path.join(dir, 'hosts.ini');
      fs.writeFileSync(inventory, `nitro ansible_host=127.0.0.1 ansible_port=${port} ansible_user=ansible ansible_ssh_private_key_file=${imds.key}\n`);
      const playbook = path.join(dir, 'site.yml');
      fs.writeFileSync(playbook, [
        '- hosts: nitro',
        '  become: true',
        '  tasks:',
        '    - ansible.builtin.copy: { dest: /etc/ec2inv-ansible, content: "{{ ansible_hostname }}\\n", mode: "0644" }',
        '',
      ].join('\n'));
      const play = await run('ansible-playbook', ['-i', inventory, playbook], {
        ...process.env, ANSIBLE_HOST_KEY_CHECKING: 'False', ANSIBLE_LOCAL_TEMP: path.join(dir, 'ansible-tmp'), ANSIBLE_NOCOLOR: '1', ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
      }, 20 * 60_000);
      assert.equal(play.code, 0, `${play.stdout}\n${play.stderr}`);
      assert.equal(ssh('cat /etc/ec2inv-ansible'), 'ip-169-254-0-15\n');
  } finally {
    // Whatever failed, nothing outlives the test: a live moto would keep the test process (and the lock) forever.
    qemuChild.kill?.();
    await server?.stop();
    await moto.stop();
  }
}
